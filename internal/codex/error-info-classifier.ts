// Classifies an app-server error from its structured `codexErrorInfo` first (codex-rs
// app-server-protocol CodexErrorInfo, 0.169.0), and from its message only where the info says
// nothing: the message rules (error-classifier.ts) still add remedies, retry-after and reset times.
import type { StreamErrorCode, TurnError } from "../core/turn-error.js";
import { STREAM_ERRORS, turnError } from "../core/turn-error.js";
import { classifyCodexError } from "./error-classifier.js";

const BY_NAME: Readonly<Record<string, StreamErrorCode>> = {
  contextWindowExceeded: "CODEX_CONTEXT_WINDOW_EXCEEDED",
  usageLimitExceeded: "CODEX_QUOTA_EXHAUSTED",
  rateLimitExceeded: "CODEX_RATE_LIMITED",
  serverOverloaded: "CODEX_SERVER_OVERLOADED",
  modelNotFound: "CODEX_MODEL_NOT_FOUND",
  internalServerError: "CODEX_SERVER_ERROR",
  unauthorized: "CODEX_AUTH_FAILED",
  badRequest: "CODEX_INVALID_REQUEST",
  httpConnectionFailed: "CODEX_NETWORK",
  responseStreamConnectionFailed: "CODEX_NETWORK",
  responseStreamDisconnected: "CODEX_NETWORK",
};

/** The stream error code `info` names, if it names one. */
export function codeOfErrorInfo(info: unknown): StreamErrorCode | undefined {
  if (typeof info === "string") return BY_NAME[info];
  if (typeof info !== "object" || info === null) return undefined;
  const [name, detail] = Object.entries(info)[0] ?? [];
  if (name === undefined) return undefined;
  // HTTP variants: the status says more than the variant (a 401 ends a stream "connection failed").
  const status = statusOf(detail);
  if (status !== undefined) return codeOfStatus(status) ?? BY_NAME[name];
  if (name === "responseTooManyFailedAttempts") return "CODEX_NETWORK";
  return BY_NAME[name];
}

/** Classifies one app-server error: the structured info decides the code when it names one. */
export function classifyAppServerError(
  message: string,
  info: unknown,
  now: Date = new Date(),
): TurnError {
  const byMessage = classifyCodexError(message, now);
  const code = codeOfErrorInfo(info);
  if (code === undefined || code === byMessage.code) return byMessage;
  // The message rules may be more specific within the same class (a 429 that is a usage limit).
  if ((STREAM_ERRORS[code].classes as readonly string[]).includes(byMessage.class)) {
    return byMessage;
  }
  const error = turnError(code, message);
  if (byMessage.retryAfterSeconds !== undefined && error.class === "rate_limited") {
    error.retryAfterSeconds = byMessage.retryAfterSeconds;
  }
  return error;
}

function statusOf(detail: unknown): number | undefined {
  const status = (detail as { httpStatusCode?: unknown } | null | undefined)?.httpStatusCode;
  return typeof status === "number" ? status : undefined;
}

function codeOfStatus(status: number): StreamErrorCode | undefined {
  if (status === 429) return "CODEX_RATE_LIMITED";
  if (status === 401 || status === 403) return "CODEX_AUTH_FAILED";
  if (status === 400) return "CODEX_INVALID_REQUEST";
  if (status === 404) return "CODEX_REQUEST_REFUSED";
  if (status >= 500) return "CODEX_SERVER_ERROR";
  return undefined;
}
