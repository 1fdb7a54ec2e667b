// Classifies codex's error messages. `exec --json` carries only text (no codes), so this is the one
// table that turns codex 0.169.0's fixed messages into an ErrorClass and a retry decision.
// Messages: research/codex-cli.md §6, checked against `strings` of the 0.169.0 binary.
import type { ErrorClass, TurnError } from "./canonical-event.js";

interface Rule {
  pattern: RegExp;
  class: ErrorClass;
  code: string;
  retryable: boolean;
}

// First match wins, so specific rules come before broad ones (e.g. Cloudflare before 403).
const RULES: readonly Rule[] = [
  rule(/^Reconnecting\.\.\./, "retrying", "CODEX_RETRYING", true),
  // The thread's rollout is gone (never persisted, deleted, other CODEX_HOME). The runner forgets
  // the stored id, so the next turn starts a new thread: retrying helps.
  rule(/no rollout found for thread id/, "internal", "THREAD_NOT_FOUND", true),
  rule(/already has an active writer/, "internal", "THREAD_BUSY", true),
  rule(/Input exceeds the maximum length/, "invalid_request", "PROMPT_TOO_LARGE", false),
  // Quota: codex itself never retries these, and neither should the daemon before the reset.
  rule(/You[’']ve hit your usage limit/, "quota_exhausted", "CODEX_QUOTA_EXHAUSTED", false),
  rule(/^Quota exceeded\./, "quota_exhausted", "CODEX_QUOTA_EXHAUSTED", false),
  rule(/To use Codex with your ChatGPT plan/, "quota_exhausted", "CODEX_QUOTA_EXHAUSTED", false),
  rule(
    /(You[’']re|workspace is) out of credits/,
    "quota_exhausted",
    "CODEX_QUOTA_EXHAUSTED",
    false,
  ),
  rule(/usage_limit_reached|insufficient_quota/, "quota_exhausted", "CODEX_QUOTA_EXHAUSTED", false),
  rule(/exceeded retry limit, last status: 429/, "rate_limited", "CODEX_RATE_LIMITED", true),
  rule(/^rate limit exceeded/i, "rate_limited", "CODEX_RATE_LIMITED", true),
  rule(
    /ran out of room in the model's context window|context_length_exceeded/,
    "context_window_exceeded",
    "CODEX_CONTEXT_WINDOW_EXCEEDED",
    false,
  ),
  rule(/blocked by Cloudflare/, "network", "CODEX_NETWORK_BLOCKED", false),
  rule(/unexpected status 40[13]\b/, "auth", "CODEX_AUTH_FAILED", false),
  rule(/^Missing environment variable/, "auth", "CODEX_AUTH_FAILED", false),
  rule(
    /access token could not be refreshed|refresh_token_reused/,
    "auth",
    "CODEX_AUTH_FAILED",
    false,
  ),
  rule(/\bnot logged in\b/i, "auth", "CODEX_AUTH_FAILED", false),
  rule(
    /model_not_found|The model .* does not exist/,
    "invalid_request",
    "CODEX_MODEL_NOT_FOUND",
    false,
  ),
  rule(
    /flagged for possible (cybersecurity|biological) risk|^Invalid prompt/,
    "invalid_request",
    "CODEX_REQUEST_REFUSED",
    false,
  ),
  rule(/reason: content_filter/, "invalid_request", "CODEX_REQUEST_REFUSED", false),
  // HTTP 400: codex uses the raw response body as the message.
  rule(/^\s*\{[\s\S]*"error"/, "invalid_request", "CODEX_INVALID_REQUEST", false),
  rule(/unexpected status 4\d\d\b/, "invalid_request", "CODEX_INVALID_REQUEST", false),
  rule(/experiencing high demand/, "internal", "CODEX_SERVER_OVERLOADED", true),
  rule(/Selected model is at capacity|Server is busy/, "internal", "CODEX_SERVER_OVERLOADED", true),
  rule(/unexpected status 5\d\d\b/, "internal", "CODEX_SERVER_ERROR", true),
  rule(/Incomplete response returned/, "internal", "CODEX_INCOMPLETE_RESPONSE", true),
  rule(/stream disconnected before completion/, "network", "CODEX_NETWORK", true),
  rule(
    /waiting for network|error sending request|Connection failed/i,
    "network",
    "CODEX_NETWORK",
    true,
  ),
];

function rule(pattern: RegExp, errorClass: ErrorClass, code: string, retryable: boolean): Rule {
  return { pattern, class: errorClass, code, retryable };
}

/** Classifies one codex error message; unknown text is a non-retryable internal error. */
export function classifyCodexError(message: string, now: Date = new Date()): TurnError {
  const match = RULES.find((candidate) => candidate.pattern.test(message));
  const error: TurnError = match
    ? { class: match.class, code: match.code, message, retryable: match.retryable }
    : { class: "internal", code: "CODEX_TURN_FAILED", message, retryable: false };
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
