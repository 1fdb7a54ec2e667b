// Call errors: a call that failed as a whole (bad config, an unknown agent, a busy agent …) fails
// with an AppError, whose string code internal/provider maps to a gRPC status. What goes wrong
// inside a running turn is a stream error instead (turn-error.ts).

export type AppErrorCode =
  | "CONFIG_INVALID"
  | "NOT_CONFIGURED"
  | "AGENT_ID_INVALID"
  | "AGENT_BUSY"
  | "WORKSPACE_INVALID"
  | "PROMPT_INVALID"
  | "REQUEST_INVALID"
  | "IMAGE_INVALID"
  | "THREAD_STORE_FAILED"
  | "ATOMIC_WRITE_FAILED"
  | "ROLLOUT_NOT_FOUND"
  | "ROLLOUT_CORRUPT"
  | "ROLLOUT_LOCKED"
  | "ROLLOUT_CHANGED"
  | "MCP_SOCKET_UNAVAILABLE"
  | "SHUTTING_DOWN"
  /** The agent has no thread (no turn yet, or reset), or codex cannot load it. */
  | "THREAD_NOT_FOUND"
  /** The codex in use lacks what the call needs (codex-capabilities.ts). */
  | "CODEX_UNSUPPORTED"
  /** Codex failed to compact the thread (its model request failed, its server died …). */
  | "COMPACTION_FAILED"
  | "INTERNAL";

const brand = Symbol.for("plexum.AppError");

/** An application error with a stable string code; `cause` is always kept. */
export class AppError extends Error {
  override name = "AppError";
  readonly code: AppErrorCode;
  /** Dotted config paths or request fields the error is about, when known. */
  readonly fields: readonly string[];
  readonly [brand] = true;

  constructor(
    code: AppErrorCode,
    message: string,
    options?: { cause?: unknown; fields?: readonly string[] },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.fields = options?.fields ?? [];
  }

  /** Wraps any thrown value, passing an existing AppError through. */
  static from(value: unknown, code: AppErrorCode = "INTERNAL"): AppError {
    if (isAppError(value)) return value;
    const message = value instanceof Error ? value.message : String(value);
    return new AppError(code, message, { cause: value });
  }
}

/** True for an AppError, also across duplicated copies of this module. */
export function isAppError(value: unknown): value is AppError {
  return typeof value === "object" && value !== null && brand in value;
}
