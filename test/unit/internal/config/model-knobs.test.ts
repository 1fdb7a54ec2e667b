import { describe, expect, it } from "vitest";

import { parseConfig } from "../../../../internal/config/load-config.js";
import {
  modelSettingsAssignments,
  REASONING_EFFORTS,
  reasoningEffortAssignment,
} from "../../../../internal/config/model-knobs.js";
import { isAppError } from "../../../../internal/core/app-error.js";

describe("reasoningEffortAssignment", () => {
  it("renders every accepted effort as a model_reasoning_effort TOML string", () => {
    for (const effort of REASONING_EFFORTS) {
      expect(reasoningEffortAssignment(effort)).toEqual({
        ok: true,
        assignments: [`model_reasoning_effort="${effort}"`],
      });
    }
  });

  it("refuses anything else, naming the accepted values", () => {
    for (const effort of ["", "HIGH", "extreme", 'high" x="1']) {
      const result = reasoningEffortAssignment(effort);
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.message).toContain("minimal, low, medium, high");
    }
  });
});

describe("modelSettingsAssignments", () => {
  it("maps each knob to its codex key, in key order", () => {
    expect(
      modelSettingsAssignments({
        web_search: "live",
        verbosity: "high",
        reasoning_summary: "detailed",
        service_tier: "flex",
      }),
    ).toEqual({
      ok: true,
      assignments: [
        'model_reasoning_summary="detailed"',
        'service_tier="flex"',
        'model_verbosity="high"',
        'web_search="live"',
      ],
    });
  });

  it("refuses unknown knobs and values", () => {
    expect(modelSettingsAssignments({ temperature: "0.2" })).toMatchObject({
      ok: false,
      message: expect.stringContaining('model setting "temperature" is not one of verbosity'),
    });
    expect(modelSettingsAssignments({ verbosity: "loud" })).toMatchObject({
      ok: false,
      message: 'model setting verbosity "loud" is not one of low, medium, high',
    });
    // Not a prototype property either.
    expect(modelSettingsAssignments({ constructor: "x" }).ok).toBe(false);
  });
});

describe("turn option config keys", () => {
  it("resolves writable_dirs, network_access, reasoning_effort, worktree and diff_max_bytes", () => {
    const { config } = parseConfig({
      writable_dirs: ["/srv/cache"],
      network_access: true,
      reasoning_effort: "high",
      worktree: { enabled: true, base_ref: "main" },
      diff_max_bytes: 0,
    });
    expect(config.writableDirs).toEqual(["/srv/cache"]);
    expect(config.networkAccess).toBe(true);
    expect(config.reasoningEffort).toBe("high");
    expect(config.worktree).toEqual({ enabled: true, baseRef: "main" });
    expect(config.diffMaxBytes).toBe(0);
  });

  it("names every bad key", () => {
    let caught: unknown;
    try {
      parseConfig({
        writable_dirs: ["relative/dir"],
        network_access: "yes",
        reasoning_effort: "extreme",
        worktree: { enabled: true, path: "/x" },
        diff_max_bytes: 10_000_000,
      });
    } catch (error) {
      caught = error;
    }
    expect(isAppError(caught)).toBe(true);
    if (!isAppError(caught)) return;
    expect([...caught.fields].sort()).toEqual(
      [
        "diff_max_bytes",
        "network_access",
        "reasoning_effort",
        "worktree.path",
        "writable_dirs.0",
      ].sort(),
    );
    expect(caught.message).toContain("gRPC's default message cap");
  });
});
