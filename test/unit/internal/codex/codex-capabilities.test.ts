import { readFileSync } from "node:fs";

import { describe, expect, it } from "vitest";

import {
  CODEX_FEATURES,
  codexCapabilityNames,
  codexFeatures,
  codexVersionDiagnostics,
  isUntestedCodex,
  missingCodexFeatures,
  missingFeatureNotes,
  untestedCodexDiagnostic,
} from "../../../../internal/codex/codex-capabilities.js";
import {
  compareVersions,
  MIN_CODEX_VERSION,
  NEWEST_VERIFIED_CODEX_VERSION,
  TESTED_CODEX_VERSIONS,
} from "../../../../internal/codex/codex-version.js";

const ALL = Object.keys(CODEX_FEATURES);

describe("codex features by version", () => {
  it("gives the minimum everything but the MCP text results (0.151.0) and app-server turns (0.169.0)", () => {
    expect(MIN_CODEX_VERSION).toBe("0.148.0");
    expect(missingCodexFeatures("0.148.0")).toEqual(["mcp_text_results", "app_server_turns"]);
    expect(missingCodexFeatures("0.150.0")).toEqual(["mcp_text_results", "app_server_turns"]);
    expect(missingCodexFeatures("0.151.0")).toEqual(["app_server_turns"]);
    expect(missingCodexFeatures("0.169.0")).toEqual([]);
    expect(codexFeatures("0.169.0")).toEqual(ALL);
    expect(codexFeatures("0.171.0")).toEqual(ALL);
  });

  it("knows what older releases lacked, as measured", () => {
    expect(missingCodexFeatures("0.147.0")).toEqual([
      "rollout_ordinals",
      "rollout_item_events",
      "mcp_call_ids",
      "mcp_text_results",
      "app_server_turns",
    ]);
    expect(missingCodexFeatures("0.142.0")).toContain("usage_cache_write");
    expect(codexFeatures("0.142.0")).toEqual(["resume_images", "resume_zst"]);
    expect(codexFeatures("0.135.0")).toEqual([]);
  });

  it("counts a prerelease as older than its release", () => {
    expect(missingCodexFeatures("0.151.0-alpha.1")).toEqual([
      "mcp_text_results",
      "app_server_turns",
    ]);
  });

  it("records for each feature a release without it before the first with it", () => {
    for (const info of Object.values(CODEX_FEATURES)) {
      expect(compareVersions(info.lastWithout, info.since)).toBeLessThan(0);
    }
  });

  it("names GetInfo capabilities after the features", () => {
    expect(codexCapabilityNames(codexFeatures("0.150.0"))).toContain("codex.mcp_call_ids");
    expect(codexCapabilityNames(codexFeatures("0.150.0"))).not.toContain("codex.mcp_text_results");
  });
});

describe("what the plugin says about a codex", () => {
  it("says nothing about a tested release with every feature", () => {
    expect(missingFeatureNotes("0.169.0")).toEqual([]);
    for (const backend of ["exec", "app-server"] as const) {
      expect(codexVersionDiagnostics("0.169.0", backend)).toEqual([]);
      expect(codexVersionDiagnostics(NEWEST_VERIFIED_CODEX_VERSION, backend)).toEqual([]);
    }
  });

  it("says what works differently without a feature, and from which release it works", () => {
    const notes = missingFeatureNotes("0.150.0");
    expect(notes).toEqual([
      "codex 0.150.0 has no mcp_text_results (codex 0.151.0 or newer passes an MCP tool's text " +
        "result to the model as text): host tool results reach the model as a JSON-encoded MCP " +
        'content array (`[{"type":"text","text":…}]`) instead of the text',
      expect.stringMatching(/^codex 0\.150\.0 has no app_server_turns \(codex 0\.169\.0 or newer/),
    ]);
    // The app-server feature is warned about only where that backend is configured.
    expect(codexVersionDiagnostics("0.150.0", "exec")).toEqual([
      expect.objectContaining({ field: "binary", summary: notes[0] }),
    ]);
    expect(codexVersionDiagnostics("0.150.0", "app-server")).toEqual([
      expect.objectContaining({ field: "binary", summary: notes[0] }),
      expect.objectContaining({ field: "binary", summary: notes[1] }),
    ]);
  });

  it("warns that a codex newer than the newest tested one is untested, and uses it", () => {
    expect(isUntestedCodex("0.171.0")).toBe(false);
    expect(untestedCodexDiagnostic("0.171.0")).toBeUndefined();
    expect(isUntestedCodex("0.171.1")).toBe(true);
    expect(isUntestedCodex("0.172.0-alpha.1")).toBe(true);
    const diagnostic = untestedCodexDiagnostic("0.172.0");
    expect(diagnostic).toEqual({
      summary:
        "codex 0.172.0 is untested: this plugin was tested with codex 0.148.0 to 0.171.0; it is " +
        "used, but its output may have changed",
      detail:
        "if turns, tool calls or Consume misbehave, point `binary` at codex 0.171.0 " +
        "(npm i -g @openai/codex@0.171.0) and report the difference",
      field: "binary",
    });
    expect(codexVersionDiagnostics("0.172.0", "exec")).toEqual([diagnostic]);
  });
});

describe("the tested releases", () => {
  const manifest = JSON.parse(readFileSync("package.json", "utf8")) as {
    dependencies: Record<string, string>;
    optionalDependencies?: Record<string, string>;
  };

  it("are the minimum, the pin and the newest verified, in order", () => {
    expect(TESTED_CODEX_VERSIONS).toEqual([
      MIN_CODEX_VERSION,
      manifest.dependencies["@openai/codex"],
      NEWEST_VERIFIED_CODEX_VERSION,
    ]);
  });

  it("are installed by npm: the pin, and the others as aliases of their linux-x64 binaries", () => {
    for (const version of TESTED_CODEX_VERSIONS) {
      if (version === manifest.dependencies["@openai/codex"]) continue;
      expect(manifest.optionalDependencies?.[`codex-linux-x64-${version}`]).toBe(
        `npm:@openai/codex@${version}-linux-x64`,
      );
    }
  });
});
