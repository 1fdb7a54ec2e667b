import { describe, expect, it } from "vitest";

import {
  classifyCodexError,
  classifyNetworkStall,
  ERROR_RULES,
  findErrorRule,
  parseResetsAt,
  parseRetryAfterSeconds,
} from "../../../../internal/codex/error-classifier.js";
import { STREAM_ERRORS } from "../../../../internal/core/turn-error.js";

// The final message of every row of research/codex-cli.md §6 (codex 0.169.0). Each must be an
// example of some rule, so the table below is tested against all of them.
const SECTION_6_MESSAGES = [
  "exceeded retry limit, last status: 429 Too Many Requests",
  "You’ve hit your usage limit. Upgrade to Pro (https://chatgpt.com/explore/pro), visit https://chatgpt.com/settings/usage to purchase more credits or try again at 1:53 AM.",
  "To use Codex with your ChatGPT plan, upgrade to Plus: https://chatgpt.com/explore/plus.",
  "Quota exceeded. Check your plan and billing details.",
  "rate limit exceeded: Rate limit reached for gpt. Please try again in 1.5s.",
  "Codex ran out of room in the model's context window. Start a new thread or clear earlier history before retrying.",
  "unexpected status 401 Unauthorized: Incorrect API key provided (mock)., url: http://127.0.0.1:41877/v1/responses",
  "unexpected status 403 Forbidden: forbidden (mock), url: http://127.0.0.1:46433/v1/responses",
  "The model `gpt-nope` does not exist or you do not have access to it.",
  "unexpected status 404 Not Found: no such route, url: http://127.0.0.1:9/v1/responses",
  '{"error":{"message":"bad thing","type":"invalid_request_error","code":"bad"}}',
  "This request has been flagged for possible cybersecurity risk.",
  "We’re currently experiencing high demand, which may cause temporary errors.",
  "Selected model is at capacity. Please try a different model.",
  "stream disconnected before completion: boom",
  "Invalid prompt: your prompt was flagged as potentially violating our usage policy.",
  "Incomplete response returned, reason: max_output_tokens",
  "stream disconnected before completion: stream closed before response.completed",
  "stream disconnected before completion: idle timeout waiting for SSE",
  "Missing environment variable: `VLLM_KEY`. Set it first.",
  "Reconnecting... waiting for network (Connection failed: error sending request)",
  "Not logged in",
  "Your access token could not be refreshed because your refresh token was already used. Please log out and sign in again.",
];

describe("the error table", () => {
  const rows = ERROR_RULES.flatMap((rule, index) =>
    rule.examples.map((example) => ({ index, rule, example })),
  );

  it.each(rows)("rule $index ($rule.code) claims its example: $example", ({ rule, example }) => {
    // First match wins, so an earlier, broader rule would steal the example.
    expect(findErrorRule(example)).toBe(rule);
    const error = classifyCodexError(example);
    const spec = STREAM_ERRORS[rule.code];
    expect(error).toMatchObject({
      class: spec.classes[0],
      code: rule.code,
      retryable: spec.retryable,
    });
    expect(error.message.startsWith(example)).toBe(true);
    if (rule.remedy !== undefined) expect(error.message).toContain(`what to do: ${rule.remedy}`);
  });

  it("gives every rule at least one example", () => {
    for (const rule of ERROR_RULES) expect(rule.examples.length, rule.code).toBeGreaterThan(0);
  });

  it("covers every §6 message", () => {
    const examples = new Set(ERROR_RULES.flatMap((rule) => rule.examples));
    for (const message of SECTION_6_MESSAGES) expect(examples, message).toContain(message);
  });

  it("never marks quota exhaustion retryable", () => {
    for (const rule of ERROR_RULES) {
      const spec = STREAM_ERRORS[rule.code];
      if (spec.classes.includes("quota_exhausted")) expect(spec.retryable, rule.code).toBe(false);
    }
  });

  it("treats unknown text as a non-retryable internal error", () => {
    expect(classifyCodexError("turn failed")).toEqual({
      class: "internal",
      code: "CODEX_TURN_FAILED",
      message: "turn failed",
      retryable: false,
    });
  });

  it("parses the reset time of a usage limit and the retry delay of a rate limit", () => {
    const now = new Date(2026, 0, 2, 10, 0, 0);
    const quota = classifyCodexError(
      "You’ve hit your usage limit. … or try again at 3:15 PM.",
      now,
    );
    expect(quota).toMatchObject({ retryable: false, resetsAt: new Date(2026, 0, 2, 15, 15, 0) });
    const rate = classifyCodexError("rate limit exceeded: Please try again in 1m30s.");
    expect(rate.retryAfterSeconds).toBe(90);
    // codex discards the body and Retry-After of a 429, so nothing is invented.
    expect(
      classifyCodexError("exceeded retry limit, last status: 429 Too Many Requests")
        .retryAfterSeconds,
    ).toBeUndefined();
  });
});

describe("classifyNetworkStall", () => {
  const stop = { message: "turn timed out after 4 s", code: "TURN_TIMEOUT" as const };

  it("types a time limit hit while codex waited for the network as network, keeping the code", () => {
    const error = classifyNetworkStall(
      "Reconnecting... waiting for network (Connection failed: error sending request)",
      stop,
    );
    expect(error).toMatchObject({ class: "network", code: "TURN_TIMEOUT", retryable: true });
    expect(error?.message).toContain("turn timed out after 4 s");
    expect(error?.message).toContain("waiting for network");
  });

  it("uses CODEX_NETWORK_UNREACHABLE for a host deadline and counts stream retries as network", () => {
    expect(
      classifyNetworkStall(
        "Reconnecting... 2/5 (stream disconnected before completion: idle timeout waiting for SSE)",
        { message: "turn deadline exceeded (host timeout)" },
      ),
    ).toMatchObject({ class: "network", code: "CODEX_NETWORK_UNREACHABLE" });
  });

  it("leaves other stalls alone", () => {
    expect(classifyNetworkStall(undefined, stop)).toBeUndefined();
    expect(
      classifyNetworkStall("Reconnecting... 1/5 (We’re currently experiencing high demand)", stop),
    ).toBeUndefined();
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
