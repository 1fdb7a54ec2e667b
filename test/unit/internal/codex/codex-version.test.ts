import { describe, expect, it } from "vitest";

import { compareVersions, parseCodexVersion } from "../../../../internal/codex/codex-version.js";

describe("parseCodexVersion", () => {
  it.each([
    ["codex-cli 0.169.0\n", "0.169.0"],
    ["codex-cli 0.170.0-alpha.2", "0.170.0-alpha.2"],
    ["WARNING: something\ncodex-cli 1.2.3", "1.2.3"],
  ])("parses %j", (output, version) => {
    expect(parseCodexVersion(output)).toBe(version);
  });

  it("rejects output that is not codex's", () => {
    expect(parseCodexVersion("v20.1.0")).toBeUndefined();
    expect(parseCodexVersion("")).toBeUndefined();
  });
});

describe("compareVersions", () => {
  it("orders numerically, with prereleases before their release", () => {
    expect(compareVersions("0.169.0", "0.169.0")).toBe(0);
    expect(compareVersions("0.100.0", "0.169.0")).toBeLessThan(0);
    expect(compareVersions("0.170.0", "0.169.9")).toBeGreaterThan(0);
    expect(compareVersions("1.0.0", "0.999.999")).toBeGreaterThan(0);
    expect(compareVersions("0.169.0-alpha.1", "0.169.0")).toBeLessThan(0);
    expect(compareVersions("0.169.0", "0.169.0-alpha.1")).toBeGreaterThan(0);
  });
});
