import { describe, expect, it } from "vitest";

import type { ErrorClass } from "../../../../internal/codex/canonical-event.js";
import {
  classifyCodexError,
  parseResetsAt,
  parseRetryAfterSeconds,
} from "../../../../internal/codex/error-classifier.js";

// Every final message from research/codex-cli.md §6 (codex 0.169.0), plus the fatal ones exec
// prints on stderr.
const CASES: [message: string, errorClass: ErrorClass, code: string, retryable: boolean][] = [
  [
    "exceeded retry limit, last status: 429 Too Many Requests",
    "rate_limited",
    "CODEX_RATE_LIMITED",
    true,
  ],
  [
    "exceeded retry limit, last status: 429 Too Many Requests, request id: req_123",
    "rate_limited",
    "CODEX_RATE_LIMITED",
    true,
  ],
  [
    "You’ve hit your usage limit. Upgrade to Pro (https://chatgpt.com/explore/pro), visit https://chatgpt.com/settings/usage to purchase more credits or try again at 1:45 AM.",
    "quota_exhausted",
    "CODEX_QUOTA_EXHAUSTED",
    false,
  ],
  [
    "You've hit your usage limit. Upgrade to Plus to continue using Codex (https://chatgpt.com/explore/plus), or try again later.",
    "quota_exhausted",
    "CODEX_QUOTA_EXHAUSTED",
    false,
  ],
  [
    "You’ve hit your usage limit. To get more access now, send a request to your admin or try again later.",
    "quota_exhausted",
    "CODEX_QUOTA_EXHAUSTED",
    false,
  ],
  [
    "To use Codex with your ChatGPT plan, upgrade to Plus: https://chatgpt.com/explore/plus.",
    "quota_exhausted",
    "CODEX_QUOTA_EXHAUSTED",
    false,
  ],
  [
    "Quota exceeded. Check your plan and billing details.",
    "quota_exhausted",
    "CODEX_QUOTA_EXHAUSTED",
    false,
  ],
  [
    "You're out of credits. Add credits to continue using Codex.",
    "quota_exhausted",
    "CODEX_QUOTA_EXHAUSTED",
    false,
  ],
  [
    "Your workspace is out of credits. Ask your workspace owner to add more.",
    "quota_exhausted",
    "CODEX_QUOTA_EXHAUSTED",
    false,
  ],
  [
    "rate limit exceeded: Rate limit reached for gpt-5 on tokens per min. Please try again in 1.5s.",
    "rate_limited",
    "CODEX_RATE_LIMITED",
    true,
  ],
  [
    "Codex ran out of room in the model's context window. Start a new thread or clear earlier history before retrying.",
    "context_window_exceeded",
    "CODEX_CONTEXT_WINDOW_EXCEEDED",
    false,
  ],
  [
    "unexpected status 401 Unauthorized: Incorrect API key provided, url: https://api.openai.com/v1/responses",
    "auth",
    "CODEX_AUTH_FAILED",
    false,
  ],
  [
    "unexpected status 403 Forbidden: not allowed, url: https://api.openai.com/v1/responses",
    "auth",
    "CODEX_AUTH_FAILED",
    false,
  ],
  [
    "Access blocked by Cloudflare. This usually happens when connecting from a restricted region",
    "network",
    "CODEX_NETWORK_BLOCKED",
    false,
  ],
  ["Missing environment variable: `VLLM_KEY`. Set it first.", "auth", "CODEX_AUTH_FAILED", false],
  [
    "Your access token could not be refreshed because your refresh token was already used. Please log out and sign in again.",
    "auth",
    "CODEX_AUTH_FAILED",
    false,
  ],
  [
    "The model `gpt-nope` does not exist or you do not have access to it.",
    "invalid_request",
    "CODEX_MODEL_NOT_FOUND",
    false,
  ],
  [
    "unexpected status 404 Not Found: no such route, url: http://127.0.0.1:9/v1/responses",
    "invalid_request",
    "CODEX_INVALID_REQUEST",
    false,
  ],
  [
    "unexpected status 402 Payment Required: pay up, url: http://127.0.0.1:9/v1/responses",
    "invalid_request",
    "CODEX_INVALID_REQUEST",
    false,
  ],
  [
    '{"error":{"message":"Invalid value for input","type":"invalid_request_error","code":null}}',
    "invalid_request",
    "CODEX_INVALID_REQUEST",
    false,
  ],
  [
    "This request has been flagged for possible cybersecurity risk.",
    "invalid_request",
    "CODEX_REQUEST_REFUSED",
    false,
  ],
  [
    "Incomplete response returned, reason: content_filter",
    "invalid_request",
    "CODEX_REQUEST_REFUSED",
    false,
  ],
  [
    "Incomplete response returned, reason: max_output_tokens",
    "internal",
    "CODEX_INCOMPLETE_RESPONSE",
    true,
  ],
  [
    "We’re currently experiencing high demand, which may cause temporary errors.",
    "internal",
    "CODEX_SERVER_OVERLOADED",
    true,
  ],
  [
    "Selected model is at capacity. Please try a different model.",
    "internal",
    "CODEX_SERVER_OVERLOADED",
    true,
  ],
  [
    "stream disconnected before completion: stream closed before response.completed",
    "network",
    "CODEX_NETWORK",
    true,
  ],
  [
    "stream disconnected before completion: idle timeout waiting for SSE",
    "network",
    "CODEX_NETWORK",
    true,
  ],
  [
    "Reconnecting... waiting for network (Connection failed: error sending request)",
    "retrying",
    "CODEX_RETRYING",
    true,
  ],
  [
    "Reconnecting... 2/5 (stream disconnected before completion)",
    "retrying",
    "CODEX_RETRYING",
    true,
  ],
  [
    "thread/resume: thread/resume failed: no rollout found for thread id 0199a213-81c0-7800-8aa1-bbab2a035a53 (code -32600)",
    "internal",
    "THREAD_NOT_FOUND",
    true,
  ],
  [
    "thread/resume failed: thread 0199a213-81c0-7800-8aa1-bbab2a035a53 already has an active writer (code -32600)",
    "internal",
    "THREAD_BUSY",
    true,
  ],
  [
    "turn/start: turn/start failed: Input exceeds the maximum length of 1048576 characters. (code -32602)",
    "invalid_request",
    "PROMPT_TOO_LARGE",
    false,
  ],
  ["turn failed", "internal", "CODEX_TURN_FAILED", false],
];

describe("classifyCodexError", () => {
  it.each(CASES)("%s", (message, errorClass, code, retryable) => {
    const error = classifyCodexError(message);
    expect(error).toMatchObject({ class: errorClass, code, retryable, message });
  });

  it("never marks quota exhaustion retryable and parses its reset time", () => {
    const now = new Date(2026, 0, 2, 10, 0, 0);
    const error = classifyCodexError(
      "You’ve hit your usage limit. … or try again at 3:15 PM.",
      now,
    );
    expect(error.retryable).toBe(false);
    expect(error.resetsAt).toEqual(new Date(2026, 0, 2, 15, 15, 0));
  });

  it("carries retry-after seconds for rate limits", () => {
    const error = classifyCodexError("rate limit exceeded: Please try again in 1m30s.");
    expect(error.retryAfterSeconds).toBe(90);
  });
});

describe("parseResetsAt", () => {
  const now = new Date(2026, 0, 2, 10, 0, 0);

  it("reads a time later today", () => {
    expect(parseResetsAt("try again at 1:45 PM.", now)).toEqual(new Date(2026, 0, 2, 13, 45));
  });

  it("moves a time that has passed to tomorrow", () => {
    expect(parseResetsAt("try again at 1:45 AM.", now)).toEqual(new Date(2026, 0, 3, 1, 45));
    expect(parseResetsAt("try again at 12:05 AM", now)).toEqual(new Date(2026, 0, 3, 0, 5));
  });

  it("reads a dated reset", () => {
    expect(parseResetsAt("or try again at Jan 5th, 2026 12:30 PM.", now)).toEqual(
      new Date(2026, 0, 5, 12, 30),
    );
  });

  it("returns undefined without a time", () => {
    expect(parseResetsAt("or try again later.", now)).toBeUndefined();
  });
});

describe("parseRetryAfterSeconds", () => {
  it.each([
    ["Please try again in 6.5s.", 7],
    ["try again in 120ms", 1],
    ["try again in 2m", 120],
    ["try again in 1h2m3s", 3723],
  ])("%s → %d", (message, seconds) => {
    expect(parseRetryAfterSeconds(message)).toBe(seconds);
  });

  it("returns undefined when there is no hint", () => {
    expect(
      parseRetryAfterSeconds("exceeded retry limit, last status: 429 Too Many Requests"),
    ).toBeUndefined();
  });
});
