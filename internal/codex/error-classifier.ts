// Classifies codex's error messages. `exec --json` carries only text (no codes), so this is the one
// table that turns codex 0.169.0's fixed messages into an ErrorClass and a retry decision. Every
// rule carries the messages it exists for (`examples`): research/codex-cli.md §6, the mock runs in
// docs/codex-0.169.0-observed.md, and `strings` of the 0.169.0 binary. The unit test feeds every
// example through classifyCodexError and checks that this rule, and no earlier one, claims it.
import {
  STREAM_ERRORS,
  type StreamErrorCode,
  type TurnError,
  turnError,
} from "../core/turn-error.js";

/** One row of the table; the code brings its class and retry decision (core/turn-error.ts). */
export interface ErrorRule {
  pattern: RegExp;
  code: StreamErrorCode;
  /** What the operator can do, appended to the message ("what to do: …"). */
  remedy?: string;
  /** Messages codex prints that this rule must classify (first match wins). */
  examples: readonly string[];
}

const AUTH_REMEDY =
  "check the API key (endpoint.api_key_env, openai.api_key_env or CODEX_API_KEY) or run " +
  "`codex login` again with the plugin's CODEX_HOME";
const REFRESH_REMEDY =
  "run `codex login` again with the plugin's CODEX_HOME; give each agent a link to auth.json " +
  "(per_agent_codex_home), never a copy";

// First match wins, so specific rules come before broad ones (e.g. Cloudflare before 403).
export const ERROR_RULES: readonly ErrorRule[] = [
  {
    // exec's retry notices: progress, not failure (the runner sends them as retrying notices).
    pattern: /^Reconnecting\.\.\./,
    code: "CODEX_RETRYING",
    examples: [
      "Reconnecting... waiting for network (Connection failed: error sending request)",
      "Reconnecting... 2/5 (stream disconnected before completion: stream closed before response.completed)",
      "Reconnecting... 1/5 (unexpected status 401 Unauthorized: Incorrect API key provided (mock)., url: http://127.0.0.1:9/v1/responses)",
    ],
  },
  {
    // The thread's rollout is gone (never persisted, deleted, other CODEX_HOME). The runner forgets
    // the stored id, so the next turn starts a new thread: retrying helps.
    pattern: /no rollout found for thread id/,
    code: "THREAD_NOT_FOUND",
    examples: [
      "thread/resume: thread/resume failed: no rollout found for thread id 0199a213-81c0-7800-8aa1-bbab2a035a53 (code -32600)",
    ],
  },
  {
    pattern: /already has an active writer/,
    code: "THREAD_BUSY",
    examples: [
      "thread/resume failed: thread 0199a213-81c0-7800-8aa1-bbab2a035a53 already has an active writer (code -32600)",
    ],
  },
  {
    pattern: /Input exceeds the maximum length/,
    code: "PROMPT_TOO_LARGE",
    examples: [
      "turn/start: turn/start failed: Input exceeds the maximum length of 1048576 characters. (code -32602)",
    ],
  },
  {
    // Quota: codex itself never retries these, and neither should the daemon before the reset.
    pattern:
      /You[’']ve hit your usage limit|^Usage limit reached|reached your (usage|workspace credit) limit/,
    code: "CODEX_QUOTA_EXHAUSTED",
    examples: [
      // 429 usage_limit_reached, plan_type plus, resets_at in an hour (observed).
      "You’ve hit your usage limit. Upgrade to Pro (https://chatgpt.com/explore/pro), visit https://chatgpt.com/settings/usage to purchase more credits or try again at 1:53 AM.",
      // plan_type pro, resets_at in three days (observed).
      "You’ve hit your usage limit. Visit https://chatgpt.com/settings/usage to purchase more credits or try again at Nov 25th, 2026 12:53 AM.",
      "You've hit your usage limit. Upgrade to Plus to continue using Codex (https://chatgpt.com/explore/plus), or try again later.",
      "You’ve hit your usage limit. To get more access now, send a request to your admin or try again later.",
      "Usage limit reached. You've reached your usage limit. Increase your limits to continue using codex.",
    ],
  },
  {
    pattern: /^Quota exceeded\.|usage_limit_reached|insufficient_quota/,
    code: "CODEX_QUOTA_EXHAUSTED",
    examples: [
      // 429 insufficient_quota, or response.failed code insufficient_quota (observed).
      "Quota exceeded. Check your plan and billing details.",
    ],
  },
  {
    pattern: /To use Codex with your ChatGPT plan/,
    code: "CODEX_PLAN_NOT_INCLUDED",
    remedy: "upgrade the ChatGPT plan, or use an API key (openai.api_key_env) or an endpoint",
    examples: [
      "To use Codex with your ChatGPT plan, upgrade to Plus: https://chatgpt.com/explore/plus.",
    ],
  },
  {
    pattern: /(You[’']re|workspace is) out of credits/,
    code: "CODEX_QUOTA_EXHAUSTED",
    examples: [
      "You're out of credits. Add credits to continue using Codex.",
      "Your workspace is out of credits. Ask your workspace owner to add more.",
      "Your workspace is out of credits. Ask your workspace owner to refill in order to continue.",
    ],
  },
  {
    // Gateways such as OpenRouter answer 402 when the account has no credit left.
    pattern: /unexpected status 402\b/,
    code: "CODEX_PAYMENT_REQUIRED",
    examples: [
      "unexpected status 402 Payment Required: pay up, url: http://127.0.0.1:9/v1/responses",
    ],
  },
  {
    // codex gives up at once without Retry-After and after request_max_retries with it; the
    // upstream body and the header are discarded, so no retry-after is known.
    pattern: /exceeded retry limit, last status: 429/,
    code: "CODEX_RATE_LIMITED",
    examples: [
      "exceeded retry limit, last status: 429 Too Many Requests",
      "exceeded retry limit, last status: 429 Too Many Requests, request id: req_123",
    ],
  },
  {
    // response.failed rate_limit_exceeded; the upstream text usually says "try again in 1.5s".
    pattern: /^rate limit exceeded/i,
    code: "CODEX_RATE_LIMITED",
    examples: [
      "rate limit exceeded: Rate limit reached for gpt. Please try again in 1.5s.",
      "rate limit exceeded: Rate limit reached for gpt-5 on tokens per min. Please try again in 1m30s.",
    ],
  },
  {
    pattern: /ran out of room in the model's context window|context_length_exceeded/,
    code: "CODEX_CONTEXT_WINDOW_EXCEEDED",
    remedy: "reset the agent's thread (ResetThread) or consume old tool output",
    examples: [
      "Codex ran out of room in the model's context window. Start a new thread or clear earlier history before retrying.",
    ],
  },
  {
    pattern: /blocked by Cloudflare/,
    code: "CODEX_NETWORK_BLOCKED",
    examples: [
      "Access blocked by Cloudflare. This usually happens when connecting from a restricted region",
    ],
  },
  {
    pattern: /unexpected status 40[13]\b/,
    code: "CODEX_AUTH_FAILED",
    remedy: AUTH_REMEDY,
    examples: [
      "unexpected status 401 Unauthorized: Incorrect API key provided (mock)., url: http://127.0.0.1:41877/v1/responses",
      "unexpected status 403 Forbidden: forbidden (mock), url: http://127.0.0.1:46433/v1/responses",
    ],
  },
  {
    pattern: /^Missing environment variable/,
    code: "CODEX_AUTH_FAILED",
    remedy: "set the variable in the plugin's environment",
    examples: ["Missing environment variable: `VLLM_KEY`. Set it first."],
  },
  {
    pattern:
      /access token could not be refreshed|authentication session could not be refreshed|refresh_token_reused/,
    code: "CODEX_AUTH_REFRESH_FAILED",
    remedy: REFRESH_REMEDY,
    examples: [
      "Your access token could not be refreshed because your refresh token was already used. Please log out and sign in again.",
      "Your access token could not be refreshed because your refresh token has expired. Please log out and sign in again.",
      "Your access token could not be refreshed because you have since logged out or signed in to another account. Please sign in again.",
      "Your authentication session could not be refreshed automatically. Please log out and sign in again.",
    ],
  },
  {
    pattern: /\bnot logged in\b/i,
    code: "NOT_LOGGED_IN",
    remedy: "run `codex login` with the plugin's CODEX_HOME, or configure an API key or endpoint",
    examples: ["Not logged in"],
  },
  {
    pattern: /model_not_found|The model .* does not exist/,
    code: "CODEX_MODEL_NOT_FOUND",
    examples: ["The model `gpt-nope` does not exist or you do not have access to it."],
  },
  {
    pattern:
      /flagged for possible (cybersecurity|biological) risk|^Invalid prompt|inference hook blocked|access program/,
    code: "CODEX_REQUEST_REFUSED",
    examples: [
      "This request has been flagged for possible cybersecurity risk.",
      "This request has been flagged for possible biological risk.",
      "Invalid prompt: your prompt was flagged as potentially violating our usage policy.",
      "Your workspace inference hook blocked this request.",
    ],
  },
  {
    pattern: /reason: content_filter/,
    code: "CODEX_REQUEST_REFUSED",
    examples: ["Incomplete response returned, reason: content_filter"],
  },
  {
    // HTTP 400: codex uses the raw response body as the message.
    pattern: /^\s*\{[\s\S]*"error"/,
    code: "CODEX_INVALID_REQUEST",
    examples: [
      '{"error":{"message":"bad thing","type":"invalid_request_error","code":"bad"}}',
      '{"error":{"message":"Invalid value for input","type":"invalid_request_error","code":null}}',
    ],
  },
  {
    pattern: /unexpected status 4\d\d\b/,
    code: "CODEX_INVALID_REQUEST",
    examples: [
      "unexpected status 404 Not Found: no such route, url: http://127.0.0.1:9/v1/responses",
      "unexpected status 422 Unprocessable Entity: bad field, url: http://127.0.0.1:9/v1/responses",
    ],
  },
  {
    // HTTP 500 after request_max_retries × stream_max_retries attempts (observed).
    pattern:
      /experiencing high (demand|load)|Selected model is at capacity|capacity (is )?unavailable|Server is busy/i,
    code: "CODEX_SERVER_OVERLOADED",
    examples: [
      "We’re currently experiencing high demand, which may cause temporary errors.",
      "Selected model is at capacity. Please try a different model.",
      "Policy-restricted capacity is unavailable. Please try again later.",
      "Flex capacity unavailable.",
      "Codex is currently experiencing high load.",
    ],
  },
  {
    pattern: /unexpected status 5\d\d\b|exceeded retry limit, last status: 5\d\d/,
    code: "CODEX_SERVER_ERROR",
    examples: [
      "unexpected status 502 Bad Gateway: upstream down, url: http://127.0.0.1:9/v1/responses",
      "exceeded retry limit, last status: 503 Service Unavailable",
    ],
  },
  {
    pattern: /Incomplete response returned/,
    code: "CODEX_INCOMPLETE_RESPONSE",
    examples: ["Incomplete response returned, reason: max_output_tokens"],
  },
  {
    // Real disconnects, the SSE idle timeout, and response.failed server_error, which codex reports
    // the same way.
    pattern: /stream disconnected before completion/,
    code: "CODEX_NETWORK",
    examples: [
      "stream disconnected before completion: stream closed before response.completed",
      "stream disconnected before completion: idle timeout waiting for SSE",
      "stream disconnected before completion: boom",
    ],
  },
  {
    pattern: /waiting for network|error sending request|Connection failed|connection refused/i,
    code: "CODEX_NETWORK",
    examples: [
      "Connection failed: error sending request for url (http://127.0.0.1:9/v1/responses)",
    ],
  },
  {
    // Fatal before a turn starts: exit 1 with the message on stderr only.
    pattern: /^Error loading config|is no longer supported|wire_api/,
    code: "CODEX_CONFIG_INVALID",
    remedy: "fix codex's config.toml or the plugin's config_overrides",
    examples: [
      'Error loading config.toml: invalid type: string "x", expected a boolean in `features.plugins`',
      '`wire_api = "chat"` is no longer supported. How to fix: set `wire_api = "responses"` in your provider config.',
    ],
  },
  {
    pattern: /^Error finding codex home/,
    code: "CODEX_HOME_MISSING",
    remedy: "create the CODEX_HOME directory (config codex_home) or fix the path",
    examples: [
      'Error finding codex home: CODEX_HOME points to "/nonexistent", but that path does not exist',
    ],
  },
];

/** Classifies one codex error message; unknown text is a non-retryable internal error. */
export function classifyCodexError(message: string, now: Date = new Date()): TurnError {
  const match = findErrorRule(message);
  const error = match
    ? turnError(
        match.code,
        match.remedy === undefined ? message : `${message} (what to do: ${match.remedy})`,
      )
    : turnError("CODEX_TURN_FAILED", message);
  if (error.class === "rate_limited" || error.class === "retrying") {
    const seconds = parseRetryAfterSeconds(message);
    if (seconds !== undefined) error.retryAfterSeconds = seconds;
  }
  if (error.class === "quota_exhausted") {
    const resetsAt = parseResetsAt(message, now);
    if (resetsAt !== undefined) error.resetsAt = resetsAt;
  }
  return error;
}

/** The first rule whose pattern matches `message`. */
export function findErrorRule(message: string): ErrorRule | undefined {
  return ERROR_RULES.find((candidate) => candidate.pattern.test(message));
}

/**
 * A turn stopped by a time limit while codex was still reconnecting: exec retries an unreachable
 * provider forever ("Reconnecting... waiting for network"), so a limit is what ends it, and the
 * class worth reporting is the network. The code stays the limit's own (TURN_TIMEOUT,
 * TURN_IDLE_TIMEOUT; CODEX_NETWORK_UNREACHABLE for a host deadline). Undefined when codex's last
 * notice was not about the network.
 */
export function classifyNetworkStall(
  lastRetryMessage: string | undefined,
  stop: { message: string; code?: StreamErrorCode | undefined },
): TurnError | undefined {
  if (lastRetryMessage === undefined) return undefined;
  const inner = lastRetryMessage.replace(/^Reconnecting\.\.\.\s*(\d+\/\d+\s*)?/, "");
  const rule = findErrorRule(inner);
  if (rule === undefined || STREAM_ERRORS[rule.code].classes[0] !== "network") return undefined;
  const retry = stop.message.includes(lastRetryMessage)
    ? ""
    : `; codex's last notice: ${lastRetryMessage}`;
  return turnError(
    stop.code ?? "CODEX_NETWORK_UNREACHABLE",
    `${stop.message}${retry}; the model provider was unreachable until then`,
    { class: "network" },
  );
}

const DURATION_UNITS: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600 };

/** "Please try again in 1m30s" / "in 6.5s" / "in 120ms" → seconds, as OpenAI phrases rate limits. */
export function parseRetryAfterSeconds(message: string): number | undefined {
  const match = /try again in ((?:\d+(?:\.\d+)?(?:ms|s|m|h))+)(?![a-z])/i.exec(message);
  if (match?.[1] === undefined) return undefined;
  let seconds = 0;
  for (const part of match[1].matchAll(/(\d+(?:\.\d+)?)\s*(ms|s|m|h)/gi)) {
    seconds += Number(part[1]) * (DURATION_UNITS[(part[2] ?? "s").toLowerCase()] ?? 1);
  }
  return seconds > 0 ? Math.ceil(seconds) : undefined;
}

const MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];

/**
 * Codex prints a usage-limit reset in *local* wall-clock time: "try again at 1:45 AM" (within a
 * day) or "try again at Jan 5th, 2026 1:45 AM". The plugin runs on the same machine as codex, so
 * local time here is the same clock. A time-only value that has already passed means tomorrow.
 */
export function parseResetsAt(message: string, now: Date = new Date()): Date | undefined {
  const match =
    /try again at (?:([A-Za-z]{3})[a-z]* (\d{1,2})(?:st|nd|rd|th)?,? (\d{4}),? )?(\d{1,2}):(\d{2})\s*([AP]M)/i.exec(
      message,
    );
  if (match === null) return undefined;
  const [, monthName, day, year, hourText, minuteText, meridiem] = match;
  let hour = Number(hourText) % 12;
  if ((meridiem ?? "").toUpperCase() === "PM") hour += 12;
  const minute = Number(minuteText);
  if (monthName !== undefined && day !== undefined && year !== undefined) {
    const month = MONTHS.indexOf(monthName.toLowerCase());
    if (month === -1) return undefined;
    return new Date(Number(year), month, Number(day), hour, minute, 0, 0);
  }
  const resetsAt = new Date(now.getFullYear(), now.getMonth(), now.getDate(), hour, minute, 0, 0);
  if (resetsAt.getTime() <= now.getTime()) resetsAt.setDate(resetsAt.getDate() + 1);
  return resetsAt;
}
