// Small constructors for scripted replies, so scripts read like a transcript.
import { randomUUID } from "node:crypto";

import type {
  MockCloseEarlyReply,
  MockHangReply,
  MockHttpErrorReply,
  MockOutputItem,
  MockResponseFailedReply,
  MockResponseIncompleteReply,
  MockResponseReply,
  MockUsage,
} from "./mock-reply.js";

/** Options shared by the reply builders that produce a full response. */
export interface RespondOptions {
  readonly usage?: MockUsage;
  readonly delayMs?: number;
  /** Extra response headers; see rateLimitHeaders. */
  readonly headers?: Readonly<Record<string, string>>;
}

/** A fresh call id in the shape the real API uses ("call_…"). */
export function newCallId(): string {
  return `call_${randomUUID().replaceAll("-", "").slice(0, 24)}`;
}

/** An assistant message with one output_text part. */
export function message(text: string): MockOutputItem {
  return { type: "message", text };
}

/** A function tool call; `args` objects are JSON-encoded, strings are sent as given. */
export function functionCall(options: {
  readonly name: string;
  readonly args: string | Readonly<Record<string, unknown>>;
  readonly callId?: string;
  readonly namespace?: string;
}): MockOutputItem {
  const encoded = typeof options.args === "string" ? options.args : JSON.stringify(options.args);
  return {
    type: "function_call",
    name: options.name,
    arguments: encoded,
    call_id: options.callId ?? newCallId(),
    ...(options.namespace === undefined ? {} : { namespace: options.namespace }),
  };
}

/**
 * codex's shell tool: it runs `cmd` with the user's shell (`bash -lc`) in the session cwd and
 * sends the result back as a function_call_output with the same call_id.
 */
export function execCommand(
  cmd: string,
  options: {
    readonly callId?: string;
    readonly extraArgs?: Readonly<Record<string, unknown>>;
  } = {},
): MockOutputItem {
  return functionCall({
    name: "exec_command",
    // A non-login shell: scripted runs must not depend on the machine's login profile (a slow or
    // lock-waiting ~/.bashrc stalls `bash -lc` for a minute).
    args: { cmd, login: false, ...options.extraArgs },
    ...(options.callId === undefined ? {} : { callId: options.callId }),
  });
}

/**
 * A heredoc apply_patch through exec_command. codex intercepts it for every model slug and
 * reports a file_change item, unlike the apply_patch custom tool, which custom slugs lack.
 */
export function applyPatchCommand(
  patch: string,
  options: { readonly callId?: string } = {},
): MockOutputItem {
  const body = patch.endsWith("\n") ? patch : `${patch}\n`;
  return execCommand(`apply_patch <<'PATCH'\n${body}PATCH`, options);
}

/** A freeform (custom) tool call such as apply_patch or code mode's exec. */
export function customToolCall(options: {
  readonly name: string;
  readonly input: string;
  readonly callId?: string;
}): MockOutputItem {
  return {
    type: "custom_tool_call",
    name: options.name,
    input: options.input,
    call_id: options.callId ?? newCallId(),
  };
}

/** A reasoning item; codex joins the summary parts with newlines into one reasoning item. */
export function reasoning(summary: string | readonly string[]): MockOutputItem {
  return { type: "reasoning", summary: typeof summary === "string" ? [summary] : summary };
}

/** Any Responses output item the typed builders do not cover, sent verbatim. */
export function rawItem(
  item: { readonly type: string } & Readonly<Record<string, unknown>>,
): MockOutputItem {
  return { type: "raw", item };
}

/** A complete streamed response carrying the given output items, in order. */
export function respond(
  items: MockOutputItem | readonly MockOutputItem[],
  options: RespondOptions = {},
): MockResponseReply {
  return {
    kind: "response",
    items: isItemList(items) ? items : [items],
    ...(options.usage === undefined ? {} : { usage: options.usage }),
    ...(options.delayMs === undefined ? {} : { delayMs: options.delayMs }),
    ...(options.headers === undefined ? {} : { headers: options.headers }),
  };
}

function isItemList(
  items: MockOutputItem | readonly MockOutputItem[],
): items is readonly MockOutputItem[] {
  return Array.isArray(items);
}

/** A complete response with one assistant message. */
export function textReply(text: string, options: RespondOptions = {}): MockResponseReply {
  return respond(message(text), options);
}

/** An HTTP error; object bodies are JSON-encoded and get a JSON content-type. */
export function httpError(
  status: number,
  body: string | Readonly<Record<string, unknown>> = "",
  headers: Readonly<Record<string, string>> = {},
): MockHttpErrorReply {
  const isJson = typeof body !== "string";
  return {
    kind: "http-error",
    status,
    body: isJson ? JSON.stringify(body) : body,
    headers: isJson ? { "content-type": "application/json", ...headers } : headers,
  };
}

/** An OpenAI-style error envelope: {"error":{message,type,code,param}}. */
function errorBody(message: string, type: string, code: string | null): Record<string, unknown> {
  return { error: { message, type, code, param: null } };
}

/** 429 rate_limit_exceeded; with `retryAfterSeconds` codex retries, without it codex gives up at once. */
export function rateLimited(retryAfterSeconds?: number): MockHttpErrorReply {
  return httpError(
    429,
    errorBody("Rate limit reached (mock).", "requests", "rate_limit_exceeded"),
    retryAfterSeconds === undefined ? {} : { "retry-after": String(retryAfterSeconds) },
  );
}

/** 401 invalid_api_key. */
export function unauthorized(): MockHttpErrorReply {
  return httpError(
    401,
    errorBody("Incorrect API key provided (mock).", "invalid_request_error", "invalid_api_key"),
  );
}

/** 400 context_length_exceeded, which codex turns into its "ran out of room" message. */
export function contextLengthExceeded(): MockHttpErrorReply {
  return httpError(
    400,
    errorBody(
      "Your input exceeds the context window of this model (mock).",
      "invalid_request_error",
      "context_length_exceeded",
    ),
  );
}

/** 500 server_error; codex retries these at both the HTTP and the stream level. */
export function serverError(): MockHttpErrorReply {
  return httpError(500, errorBody("The server had an error (mock).", "server_error", null));
}

/** Accept the request and never answer (see MockHangReply for the two variants). */
export function hang(options: { readonly afterHeaders?: boolean } = {}): MockHangReply {
  return { kind: "hang", afterHeaders: options.afterHeaders ?? false };
}

/** Stream these items, then end the body without response.completed. */
export function closeEarly(items: readonly MockOutputItem[] = []): MockCloseEarlyReply {
  return { kind: "close-early", items };
}

/** A stream ending in response.failed{error{code,message}}. */
export function responseFailed(code: string, message: string): MockResponseFailedReply {
  return { kind: "response-failed", code, message };
}

/** A stream ending in response.incomplete{incomplete_details{reason}}. */
export function responseIncomplete(reason = "max_output_tokens"): MockResponseIncompleteReply {
  return { kind: "response-incomplete", reason };
}

/** One rate-limit window as the ChatGPT backend reports it in response headers. */
export interface MockRateLimitWindow {
  /** 0–100; sent as `x-codex-<window>-used-percent`. */
  readonly usedPercent: number;
  /** Sent as `x-codex-<window>-window-minutes`. */
  readonly windowMinutes?: number;
  /** Epoch seconds; sent as `x-codex-<window>-reset-at`. */
  readonly resetsAt?: number;
}

/**
 * The `x-codex-primary-*` / `x-codex-secondary-*` headers codex parses into a rate-limit snapshot
 * (codex-rs/codex-api/src/rate_limits.rs) and records in the rollout's token_count events.
 */
export function rateLimitHeaders(windows: {
  readonly primary?: MockRateLimitWindow;
  readonly secondary?: MockRateLimitWindow;
}): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const name of ["primary", "secondary"] as const) {
    const window = windows[name];
    if (window === undefined) continue;
    headers[`x-codex-${name}-used-percent`] = String(window.usedPercent);
    if (window.windowMinutes !== undefined) {
      headers[`x-codex-${name}-window-minutes`] = String(window.windowMinutes);
    }
    if (window.resetsAt !== undefined)
      headers[`x-codex-${name}-reset-at`] = String(window.resetsAt);
  }
  return headers;
}
