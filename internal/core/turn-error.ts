// The typed errors a turn reports in its event stream (`error` events and `turn_end.error`): every
// code there is, each with its class and whether a retry can help. Call errors (a gRPC status for
// the whole call) are AppErrors, app-error.ts. The README's error table is checked against this one.

/** The error classes a daemon acts on (see proto ErrorClass). */
export type ErrorClass =
  | "retrying"
  | "rate_limited"
  | "quota_exhausted"
  | "auth"
  | "context_window_exceeded"
  | "invalid_request"
  | "network"
  | "internal"
  | "precondition"
  | "timeout";

/** One stream error code: its class (the first of `classes` unless the error says otherwise). */
export interface StreamErrorSpec {
  /** The class this code is reported with; further entries are the only other classes allowed. */
  readonly classes: readonly [ErrorClass, ...ErrorClass[]];
  readonly retryable: boolean;
  /** When the code is used, for the README's table. */
  readonly summary: string;
}

function spec(
  classes: StreamErrorSpec["classes"],
  retryable: boolean,
  summary: string,
): StreamErrorSpec {
  return { classes, retryable, summary };
}

/** Every stream error code. */
export const STREAM_ERRORS = {
  // Refused before codex starts.
  CODEX_BINARY_NOT_FOUND: spec(["precondition"], false, "no usable codex executable"),
  CODEX_VERSION_UNSUPPORTED: spec(["precondition"], false, "the codex version is not supported"),
  NOT_CONFIGURED: spec(
    ["precondition"],
    false,
    "`codex_home` or the agent's CODEX_HOME is unusable",
  ),
  WORKSPACE_INVALID: spec(["precondition"], false, "the workspace is missing or unreadable"),
  PROMPT_INVALID: spec(["precondition"], false, "the prompt is empty"),
  PROMPT_TOO_LARGE: spec(
    ["precondition"],
    false,
    "the prompt is over codex's 1,048,576 characters",
  ),
  MODEL_UNSUPPORTED: spec(["precondition"], false, "the model is not in `supported_models`"),
  REQUEST_INVALID: spec(["precondition"], false, "a turn option is invalid"),
  OUTPUT_SCHEMA_INVALID: spec(
    ["precondition"],
    false,
    "the output schema is not a usable JSON Schema",
  ),
  IMAGE_INVALID: spec(
    ["precondition"],
    false,
    "an image is unreadable, outside the workspace or not an image",
  ),
  WORKTREE_FAILED: spec(["precondition"], false, "the agent's git worktree could not be prepared"),
  NOT_LOGGED_IN: spec(["auth"], false, "codex has no credentials at all"),
  BACKEND_UNSUPPORTED: spec(
    ["precondition"],
    false,
    "the configured backend cannot run this turn (app-server: an API key from `openai.api_key_env`)",
  ),
  AUTH_KEY_MISSING: spec(["auth"], false, "the variable named by `api_key_env` is not set"),
  // The plugin's own bounds and bookkeeping.
  TURN_TIMEOUT: spec(
    ["timeout", "network"],
    true,
    "the wall-clock bound fired (`network` when codex was still reconnecting)",
  ),
  TURN_IDLE_TIMEOUT: spec(
    ["timeout", "network"],
    true,
    "no progress from codex for the idle bound (`network` when codex was still reconnecting)",
  ),
  TURN_FIRST_EVENT_TIMEOUT: spec(
    ["timeout", "network"],
    true,
    "no event from codex within the first-event bound",
  ),
  PROCESS_TIMED_OUT: spec(
    ["timeout"],
    true,
    "the host's deadline ended the turn (on a `cancelled` turn_end)",
  ),
  CODEX_NETWORK_UNREACHABLE: spec(
    ["network"],
    true,
    "the host's deadline ended a turn while codex waited for the network",
  ),
  THREAD_NOT_FOUND: spec(
    ["internal"],
    true,
    "the stored thread cannot be resumed; it was forgotten",
  ),
  THREAD_BUSY: spec(["internal"], true, "another codex process is writing the thread"),
  THREAD_STORE_FAILED: spec(["internal"], false, "the thread state could not be read or saved"),
  ROLLOUT_NOT_FOUND: spec(
    ["internal"],
    false,
    "the thread's rollout was not found: tool calls lack codex's call ids",
  ),
  ROLLOUT_CORRUPT: spec(["internal"], false, "the thread's rollout could not be read"),
  STRUCTURED_OUTPUT_INVALID: spec(
    ["internal"],
    true,
    "the final message does not match the output schema",
  ),
  PROCESS_SPAWN_FAILED: spec(["internal"], false, "codex could not be started"),
  PROCESS_EXITED_NONZERO: spec(
    ["internal"],
    false,
    "codex exited with an error code and no message this plugin knows (crashed turn)",
  ),
  PROCESS_KILLED: spec(
    ["internal"],
    false,
    "codex was killed by a signal nobody in the plugin sent (crashed turn)",
  ),
  CODEX_NO_TERMINAL_EVENT: spec(
    ["internal"],
    false,
    "codex exited 0 without turn.completed or turn.failed: its output was not understood (crashed turn)",
  ),
  CODEX_THREAD_ID_INVALID: spec(
    ["internal"],
    false,
    "codex announced a thread id that is not a UUID; nothing was stored",
  ),
  APP_SERVER_EXITED: spec(
    ["internal"],
    true,
    "the codex app-server running the turn died or was restarted (crashed turn; the next turn starts a new server)",
  ),
  INTERNAL: spec(["internal"], false, "a bug in the plugin (crashed turn)"),
  // Codex's own errors (internal/codex/error-classifier.ts).
  CODEX_RETRYING: spec(
    ["retrying"],
    true,
    "codex is retrying by itself (sent as a `retrying` notice)",
  ),
  CODEX_QUOTA_EXHAUSTED: spec(
    ["quota_exhausted"],
    false,
    "usage limit, quota or credits; `resets_at` when codex says it",
  ),
  CODEX_PLAN_NOT_INCLUDED: spec(
    ["quota_exhausted"],
    false,
    "the ChatGPT plan does not include codex",
  ),
  CODEX_PAYMENT_REQUIRED: spec(["quota_exhausted"], false, "HTTP 402"),
  CODEX_RATE_LIMITED: spec(
    ["rate_limited"],
    true,
    "a 429 codex gave up on; `retry_after_seconds` when known",
  ),
  CODEX_CONTEXT_WINDOW_EXCEEDED: spec(
    ["context_window_exceeded"],
    false,
    "the thread is over the model's context window",
  ),
  CODEX_NETWORK_BLOCKED: spec(["network"], false, "a proxy or firewall blocked the request"),
  CODEX_NETWORK: spec(["network"], true, "a dropped stream or an idle SSE connection"),
  CODEX_AUTH_FAILED: spec(["auth"], false, "HTTP 401/403 from the model provider"),
  CODEX_AUTH_REFRESH_FAILED: spec(
    ["auth"],
    false,
    "the ChatGPT refresh token was used elsewhere or expired",
  ),
  CODEX_MODEL_NOT_FOUND: spec(
    ["invalid_request"],
    false,
    "the model does not exist for this provider",
  ),
  CODEX_REQUEST_REFUSED: spec(["invalid_request"], false, "HTTP 404 or a policy refusal"),
  CODEX_INVALID_REQUEST: spec(["invalid_request"], false, "HTTP 400 from the model provider"),
  CODEX_SERVER_OVERLOADED: spec(["internal"], true, "the model provider is overloaded"),
  CODEX_SERVER_ERROR: spec(["internal"], true, "HTTP 5xx from the model provider"),
  CODEX_INCOMPLETE_RESPONSE: spec(["internal"], true, "the response ended incomplete"),
  CODEX_CONFIG_INVALID: spec(["internal"], false, "codex rejected its config.toml or an override"),
  CODEX_HOME_MISSING: spec(["internal"], false, "CODEX_HOME does not exist"),
  CODEX_TURN_FAILED: spec(
    ["internal"],
    false,
    "codex failed with a message this plugin does not know",
  ),
} as const satisfies Record<string, StreamErrorSpec>;

/** A stream error code. */
export type StreamErrorCode = keyof typeof STREAM_ERRORS;

/** A typed error: what failed, whether a retry can help, and when. */
export interface TurnError {
  class: ErrorClass;
  code: StreamErrorCode;
  message: string;
  retryable: boolean;
  retryAfterSeconds?: number;
  resetsAt?: Date;
}

/** Extra fields of one error; `class` must be one of the code's classes. */
export interface TurnErrorExtra {
  class?: ErrorClass;
  retryAfterSeconds?: number;
  resetsAt?: Date;
}

/** The error for `code`, with the code's class and retry decision. */
export function turnError(
  code: StreamErrorCode,
  message: string,
  extra: TurnErrorExtra = {},
): TurnError {
  const entry: StreamErrorSpec = STREAM_ERRORS[code];
  const errorClass = extra.class ?? entry.classes[0];
  if (!entry.classes.includes(errorClass)) {
    throw new Error(`stream error ${code} is never of class ${errorClass}`);
  }
  const error: TurnError = { class: errorClass, code, message, retryable: entry.retryable };
  if (extra.retryAfterSeconds !== undefined) error.retryAfterSeconds = extra.retryAfterSeconds;
  if (extra.resetsAt !== undefined) error.resetsAt = extra.resetsAt;
  return error;
}

/** True when `code` names a stream error. */
export function isStreamErrorCode(code: string): code is StreamErrorCode {
  return Object.hasOwn(STREAM_ERRORS, code);
}
