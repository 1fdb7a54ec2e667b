import { describe, expect, it } from "vitest";

import { mergeRateLimits, type RateLimitWindow } from "../../../../internal/core/rate-limits.js";

function window(
  kind: RateLimitWindow["kind"],
  usedPercent: number,
  observedAtMs: number,
  limitId = "codex",
): RateLimitWindow {
  return {
    limitId,
    limitName: "",
    kind,
    usedPercent,
    source: "rollout",
    observedAtMs,
    threadId: "t",
  };
}

describe("mergeRateLimits", () => {
  it("keeps the later observation per limit id and kind, and older windows not seen again", () => {
    const stored = [window("primary", 10, 1000), window("secondary", 40, 1000)];
    const merged = mergeRateLimits(stored, [window("primary", 12, 2000)]);
    expect(merged.map((w) => [w.kind, w.usedPercent, w.observedAtMs])).toEqual([
      ["primary", 12, 2000],
      ["secondary", 40, 1000],
    ]);
  });

  it("never lets an older observation replace a newer one", () => {
    const merged = mergeRateLimits([window("primary", 50, 3000)], [window("primary", 5, 2000)]);
    expect(merged.map((w) => w.usedPercent)).toEqual([50]);
  });

  it("keeps limits apart and orders them by limit id, primary first", () => {
    const merged = mergeRateLimits(
      [],
      [
        window("secondary", 1, 1, "codex_other"),
        window("primary", 2, 1, "codex_other"),
        window("primary", 3, 1),
      ],
    );
    expect(merged.map((w) => `${w.limitId}/${w.kind}`)).toEqual([
      "codex/primary",
      "codex_other/primary",
      "codex_other/secondary",
    ]);
  });
});
