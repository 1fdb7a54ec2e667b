import { describe, expect, it } from "vitest";

import { parseRolloutLine, type RolloutLine } from "../../../../internal/rollout/rollout-line.js";
import { tokenCountOf } from "../../../../internal/rollout/token-count.js";

const THREAD = "01a200b8-0000-7000-8000-000000000001";
// Any instant: used only for lines without a timestamp.
const NOW = Date.UTC(2031, 4, 6, 7, 8, 9);
const place = { threadId: THREAD, now: NOW };

const usage = (total: number) => ({
  input_tokens: total - 20,
  cached_input_tokens: 0,
  cache_write_input_tokens: 0,
  output_tokens: 20,
  reasoning_output_tokens: 0,
  total_tokens: total,
});

// The shape codex 0.169.0 and 0.171.0 write (0.148.0: the same without last_usage_includes_reasoning).
function tokenCountLine(payload: Record<string, unknown>, timestamp = "2026-12-03T15:46:33.106Z") {
  return {
    timestamp,
    ordinal: 17,
    type: "event_msg",
    payload: { type: "token_count", ...payload },
  };
}

const REAL = tokenCountLine({
  info: {
    total_token_usage: usage(11050),
    last_token_usage: usage(6030),
    last_usage_includes_reasoning: true,
    model_context_window: 258400,
  },
  rate_limits: {
    limit_id: "codex",
    limit_name: null,
    primary: { used_percent: 12.5, window_minutes: 300, resets_at: 4102444800 },
    secondary: { used_percent: 40.0, window_minutes: 10080, resets_at: 4103000000 },
    credits: null,
    individual_limit: null,
    spend_control_reached: null,
    plan_type: null,
    rate_limit_reached_type: null,
  },
});

function parse(value: unknown): RolloutLine {
  const line = parseRolloutLine(JSON.stringify(value));
  if (line === undefined) throw new Error("not a rollout line");
  return line;
}

describe("tokenCountOf", () => {
  it("reads the context-window fill and both windows of a real token_count line", () => {
    const observedAtMs = Date.parse("2026-12-03T15:46:33.106Z");
    expect(tokenCountOf(parse(REAL), place)).toEqual({
      drift: false,
      context: {
        tokensInContext: 6030,
        modelContextWindow: 258400,
        fill: 6030 / 258400,
        percentLeft: 100,
      },
      rateLimits: [
        {
          limitId: "codex",
          limitName: "",
          kind: "primary",
          usedPercent: 12.5,
          windowMinutes: 300,
          resetsAtMs: 4102444800_000,
          source: "rollout",
          observedAtMs,
          threadId: THREAD,
        },
        {
          limitId: "codex",
          limitName: "",
          kind: "secondary",
          usedPercent: 40,
          windowMinutes: 10080,
          resetsAtMs: 4103000000_000,
          source: "rollout",
          observedAtMs,
          threadId: THREAD,
        },
      ],
    });
  });

  it("ignores every other line", () => {
    expect(
      tokenCountOf(parse({ type: "event_msg", payload: { type: "task_complete" } }), place),
    ).toBeUndefined();
    expect(
      tokenCountOf(parse({ type: "response_item", payload: { type: "token_count" } }), place),
    ).toBeUndefined();
  });

  it("takes null info, null rate limits and null windows as absent, not as drift", () => {
    expect(tokenCountOf(parse(tokenCountLine({ info: null, rate_limits: null })), place)).toEqual({
      drift: false,
      rateLimits: [],
    });
    const onlyPrimary = tokenCountOf(
      parse(
        tokenCountLine({
          rate_limits: {
            limit_id: null,
            primary: { used_percent: 3, window_minutes: null, resets_at: null },
            secondary: null,
          },
        }),
      ),
      place,
    );
    expect(onlyPrimary?.drift).toBe(false);
    expect(onlyPrimary?.context).toBeUndefined();
    // A snapshot without a limit id is codex's default header family.
    expect(onlyPrimary?.rateLimits).toEqual([
      expect.objectContaining({ limitId: "codex", kind: "primary", usedPercent: 3 }),
    ]);
    expect(onlyPrimary?.rateLimits[0]).not.toHaveProperty("windowMinutes");
    expect(onlyPrimary?.rateLimits[0]).not.toHaveProperty("resetsAtMs");
  });

  it("reports an unknown model's window as 0, with no fill", () => {
    const line = tokenCountLine({
      info: { last_token_usage: usage(500), model_context_window: null },
    });
    expect(tokenCountOf(parse(line), place)?.context).toEqual({
      tokensInContext: 500,
      modelContextWindow: 0,
    });
  });

  it("skips fields of an unknown shape as drift, keeping what it understands", () => {
    const line = tokenCountLine({
      info: { last_token_usage: { total_tokens: "many" }, model_context_window: 1000 },
      rate_limits: {
        limit_id: "codex",
        primary: { used_percent: "12" },
        secondary: { used_percent: 7, window_minutes: 60, resets_at: 4102444800 },
      },
    });
    const count = tokenCountOf(parse(line), place);
    expect(count?.drift).toBe(true);
    expect(count?.context).toBeUndefined();
    expect(count?.rateLimits.map((window) => window.kind)).toEqual(["secondary"]);

    for (const odd of [
      { info: "full" },
      { rate_limits: [] },
      { rate_limits: { limit_id: 7 } },
      { rate_limits: { primary: { used_percent: 1, resets_at: -5 } } },
      { rate_limits: { primary: 1 } },
      { info: { last_token_usage: usage(10), model_context_window: -1 } },
    ]) {
      expect(tokenCountOf(parse(tokenCountLine(odd)), place)?.drift, JSON.stringify(odd)).toBe(
        true,
      );
    }
  });

  it("uses the reading time for a line without a parsable timestamp", () => {
    const line = tokenCountLine(
      { rate_limits: { primary: { used_percent: 1, window_minutes: 5 } } },
      "not a time",
    );
    expect(tokenCountOf(parse(line), place)?.rateLimits[0]?.observedAtMs).toBe(NOW);
  });

  it("counts an older codex's resets_in_seconds from the line's time", () => {
    const line = tokenCountLine(
      { rate_limits: { primary: { used_percent: 1, resets_in_seconds: 60 } } },
      "2026-12-03T15:00:00.000Z",
    );
    expect(tokenCountOf(parse(line), place)?.rateLimits[0]?.resetsAtMs).toBe(
      Date.parse("2026-12-03T15:01:00.000Z"),
    );
  });
});
