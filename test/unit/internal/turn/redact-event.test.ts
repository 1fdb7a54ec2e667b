import { describe, expect, it } from "vitest";

import type { CanonicalEvent } from "../../../../internal/core/canonical-event.js";
import { redactEvent } from "../../../../internal/turn/redact-event.js";
import { REDACTED } from "../../../../src/log/redact.js";

describe("redactEvent", () => {
  const key = 'sk-"secret\\value';

  it("replaces the secret in every string, nested ones included, and keeps dates", () => {
    const resetsAt = new Date(2026, 0, 1);
    const end: CanonicalEvent = {
      kind: "turn_end",
      outcome: "failed",
      message: `bad key ${key}`,
      threadId: "t",
      finalText: "",
      stderrTail: `Authorization: ${key}\n`,
      durationMs: 1,
      error: {
        class: "quota_exhausted",
        code: "CODEX_QUOTA_EXHAUSTED",
        message: `${key}${key}`,
        retryable: false,
        resetsAt,
      },
    };
    const redacted = redactEvent(end, [key]);
    expect(JSON.stringify(redacted)).not.toContain("secret");
    expect(redacted).toMatchObject({
      message: `bad key ${REDACTED}`,
      error: { message: `${REDACTED}${REDACTED}`, resetsAt },
    });
    // The original is left alone.
    expect(end.message).toContain(key);
  });

  it("reaches tool details and returns the same event when there is nothing to scrub", () => {
    const tool: CanonicalEvent = {
      kind: "tool",
      itemId: "item_0",
      phase: "completed",
      status: "completed",
      detail: {
        type: "command_execution",
        command: "env",
        aggregatedOutput: `K=${key}\n`,
        exitCode: 0,
      },
    };
    expect(JSON.stringify(redactEvent(tool, [key]))).not.toContain(key);
    expect(redactEvent(tool, [])).toBe(tool);
    // Too short to be a key: blanking it would shred ordinary text.
    expect(redactEvent(tool, ["env"])).toBe(tool);
  });
});
