import { describe, expect, it } from "vitest";

import { buildChildEnv } from "../../../../internal/codex/child-env.js";
import { buildExecArgs, sandboxArgs } from "../../../../internal/exec/exec-args.js";

const THREAD = "0199a213-81c0-7800-8aa1-bbab2a035a53";

describe("buildExecArgs", () => {
  it("builds a fresh turn that reads the prompt from stdin", () => {
    expect(buildExecArgs({ sandbox: "bypass" })).toEqual([
      "exec",
      "--json",
      "--skip-git-repo-check",
      "--dangerously-bypass-approvals-and-sandbox",
      "-",
    ]);
  });

  it("puts every exec-level flag before `resume <id> -` and re-sends sandbox and model", () => {
    const args = buildExecArgs({
      sandbox: "workspace-write",
      model: "qwen3-coder",
      workspace: "/work/agent",
      configOverrides: ['model_provider="vllm"', "x.y=1"],
      extraArgs: ["--enable", "feature"],
      resumeThreadId: THREAD,
    });
    expect(args).toEqual([
      "exec",
      "--json",
      "--skip-git-repo-check",
      "-s",
      "workspace-write",
      "-c",
      'approval_policy="never"',
      "-C",
      "/work/agent",
      "--model",
      "qwen3-coder",
      "-c",
      'model_provider="vllm"',
      "-c",
      "x.y=1",
      "--enable",
      "feature",
      "resume",
      THREAD,
      "-",
    ]);
    const resumeAt = args.indexOf("resume");
    // Nothing but the thread id and "-" may follow `resume`.
    expect(args.slice(resumeAt)).toEqual(["resume", THREAD, "-"]);
    for (const flag of ["-s", "--model", "-C", "-c", "--enable", "--json"]) {
      expect(args.indexOf(flag)).toBeLessThan(resumeAt);
    }
  });

  it("never carries the prompt: the last argument is always '-'", () => {
    for (const resumeThreadId of [undefined, THREAD]) {
      const args = buildExecArgs({ sandbox: "read-only", resumeThreadId });
      expect(args.at(-1)).toBe("-");
      expect(args.filter((arg) => arg === "-")).toHaveLength(1);
    }
  });

  it("maps each sandbox mode to codex flags with approval never", () => {
    expect(sandboxArgs("bypass")).toEqual(["--dangerously-bypass-approvals-and-sandbox"]);
    for (const mode of ["read-only", "workspace-write", "danger-full-access"] as const) {
      expect(sandboxArgs(mode)).toEqual(["-s", mode, "-c", 'approval_policy="never"']);
    }
  });
});

describe("buildChildEnv", () => {
  it("drops backtrace variables, sets CODEX_HOME and leaves the base untouched", () => {
    const base = {
      PATH: "/usr/bin",
      RUST_BACKTRACE: "1",
      RUST_LIB_BACKTRACE: "full",
      HOME: "/h",
      CODEX_HOME: "/old",
    };
    const env = buildChildEnv(base, { codexHome: "/agents/a/codex" });
    expect(env).toEqual({ PATH: "/usr/bin", HOME: "/h", CODEX_HOME: "/agents/a/codex" });
    expect(base.RUST_BACKTRACE).toBe("1");
  });

  it("keeps an inherited CODEX_HOME when none is configured and prepends the helper dir", () => {
    const env = buildChildEnv(
      { PATH: "/usr/bin", CODEX_HOME: "/old" },
      { helperPathDir: "/pkg/codex-path" },
    );
    expect(env).toEqual({ PATH: "/pkg/codex-path:/usr/bin", CODEX_HOME: "/old" });
    expect(buildChildEnv({}, { helperPathDir: "/pkg/codex-path" })["PATH"]).toBe("/pkg/codex-path");
  });
});
