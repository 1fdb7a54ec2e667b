import { describe, expect, it } from "vitest";

import { buildExecArgs } from "../../../../internal/exec/exec-args.js";

const THREAD = "0199a213-81c0-7800-8aa1-bbab2a035a53";

describe("buildExecArgs with turn options", () => {
  it("puts images first on a new turn, where exec's multi-value --image cannot swallow '-'", () => {
    expect(
      buildExecArgs({
        sandbox: "workspace-write",
        images: ["/w/a.png", "/tmp/t/image-2.png"],
        writableDirs: ["/srv/cache", "/srv/out"],
        networkAccess: false,
        outputSchemaPath: "/tmp/t/output-schema.json",
        workspace: "/w",
      }),
    ).toEqual([
      "exec",
      "--image",
      "/w/a.png",
      "--image",
      "/tmp/t/image-2.png",
      "--json",
      "--skip-git-repo-check",
      "-s",
      "workspace-write",
      "-c",
      'approval_policy="never"',
      "--add-dir",
      "/srv/cache",
      "--add-dir",
      "/srv/out",
      "-c",
      "sandbox_workspace_write.network_access=false",
      "--output-schema",
      "/tmp/t/output-schema.json",
      "-C",
      "/w",
      "-",
    ]);
  });

  it("re-sends the sandbox flags before `resume` and puts the images after the thread id", () => {
    const args = buildExecArgs({
      sandbox: "workspace-write",
      images: ["/w/a.png"],
      writableDirs: ["/srv/cache"],
      networkAccess: true,
      outputSchemaPath: "/tmp/t/s.json",
      resumeThreadId: THREAD,
    });
    const resumeAt = args.indexOf("resume");
    expect(args.slice(resumeAt)).toEqual(["resume", THREAD, "--image", "/w/a.png", "-"]);
    // codex rejects -s and --add-dir after `resume`.
    for (const flag of ["-s", "--add-dir", "--output-schema", "--json"]) {
      expect(args.indexOf(flag)).toBeGreaterThan(-1);
      expect(args.indexOf(flag)).toBeLessThan(resumeAt);
    }
    expect(args).toContain("sandbox_workspace_write.network_access=true");
  });

  it("sends writable dirs and network access only under workspace-write", () => {
    for (const sandbox of ["bypass", "read-only", "danger-full-access"] as const) {
      const args = buildExecArgs({ sandbox, writableDirs: ["/srv"], networkAccess: true });
      expect(args).not.toContain("--add-dir");
      expect(args.join(" ")).not.toContain("network_access");
    }
  });
});
