import { describe, expect, it } from "vitest";

import {
  CODEX_BASELINE_TOKENS,
  contextWindowFill,
} from "../../../../internal/core/context-window.js";

describe("contextWindowFill", () => {
  it("is tokens / window without a baseline, and codex's % left with one", () => {
    expect(contextWindowFill(50_000, 100_000)).toEqual({
      tokensInContext: 50_000,
      modelContextWindow: 100_000,
      fill: 0.5,
      // (88000 - 38000) / 88000 = 56.8 %
      percentLeft: 57,
    });
    // Up to the baseline nothing counts as used.
    expect(contextWindowFill(CODEX_BASELINE_TOKENS, 100_000).percentLeft).toBe(100);
    expect(contextWindowFill(100_000, 100_000)).toMatchObject({ fill: 1, percentLeft: 0 });
  });

  it("does not clamp the fill past a full window; % left stays at 0", () => {
    expect(contextWindowFill(150_000, 100_000)).toMatchObject({ fill: 1.5, percentLeft: 0 });
  });

  it("has no fill for an unknown window, and 0 % left for one no larger than the baseline", () => {
    expect(contextWindowFill(10, 0)).toEqual({ tokensInContext: 10, modelContextWindow: 0 });
    expect(contextWindowFill(10, CODEX_BASELINE_TOKENS).percentLeft).toBe(0);
  });
});
