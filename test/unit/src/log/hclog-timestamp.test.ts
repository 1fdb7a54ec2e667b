import { describe, expect, it } from "vitest";

import { currentEpochMs, formatHclogTimestamp } from "../../../../src/log/hclog-timestamp.js";

describe("formatHclogTimestamp", () => {
  it("keeps microseconds and always writes six fractional digits", () => {
    const ms = Date.UTC(2026, 10, 22, 0, 21, 1, 123);
    expect(formatHclogTimestamp(ms + 0.456)).toBe("2026-11-22T00:21:01.123456Z");
    expect(formatHclogTimestamp(ms)).toBe("2026-11-22T00:21:01.123000Z");
    expect(formatHclogTimestamp(ms + 0.0004)).toBe("2026-11-22T00:21:01.123000Z");
    expect(formatHclogTimestamp(ms + 0.999)).toBe("2026-11-22T00:21:01.123999Z");
    expect(formatHclogTimestamp(ms + 0.9997)).toBe("2026-11-22T00:21:01.123999Z");
    expect(formatHclogTimestamp(Date.UTC(2026, 0, 1))).toBe("2026-01-01T00:00:00.000000Z");
  });
});

describe("currentEpochMs", () => {
  it("stays within a millisecond or two of the wall clock and has sub-millisecond precision", () => {
    const samples: number[] = [];
    for (let i = 0; i < 200; i++) {
      const wall = Date.now();
      const precise = currentEpochMs();
      expect(precise).toBeGreaterThanOrEqual(wall - 1);
      expect(precise).toBeLessThan(Date.now() + 2);
      samples.push(precise);
    }
    expect(samples.some((value) => !Number.isInteger(value))).toBe(true);
  });
});
