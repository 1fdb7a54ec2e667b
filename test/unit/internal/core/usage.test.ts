import { describe, expect, it } from "vitest";

import { computeUsageDelta, emptyUsage, type Usage } from "../../../../internal/core/usage.js";

function usage(input: number, cached = 0, cacheWrite = 0, output = 0, reasoning = 0): Usage {
  return {
    input_tokens: input,
    cached_input_tokens: cached,
    cache_write_input_tokens: cacheWrite,
    output_tokens: output,
    reasoning_output_tokens: reasoning,
  };
}

describe("computeUsageDelta", () => {
  it("turns cumulative totals 10 → 20 → 30 into 10 per turn", () => {
    let baseline = emptyUsage();
    const perTurn: number[] = [];
    for (const total of [10, 20, 30]) {
      const { turn, baselineReset } = computeUsageDelta(usage(total), baseline);
      expect(baselineReset).toBe(false);
      perTurn.push(turn.input_tokens);
      baseline = usage(total);
    }
    expect(perTurn).toEqual([10, 10, 10]);
  });

  it("subtracts every field separately", () => {
    const { turn } = computeUsageDelta(usage(100, 60, 7, 40, 12), usage(30, 20, 2, 15, 5));
    expect(turn).toEqual(usage(70, 40, 5, 25, 7));
  });

  it("reports the whole total when the baseline is ahead of it", () => {
    const { turn, baselineReset } = computeUsageDelta(usage(10, 5), usage(50, 1));
    expect(baselineReset).toBe(true);
    expect(turn).toEqual(usage(10, 5));
  });
});
