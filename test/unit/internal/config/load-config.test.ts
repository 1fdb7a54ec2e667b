import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { parseConfig } from "../../../../internal/config/load-config.js";
import { isAppError } from "../../../../internal/core/app-error.js";

const env = { XDG_STATE_HOME: "/var/lib/xdg" };

function configError(json: unknown): { fields: readonly string[]; message: string; code: string } {
  try {
    parseConfig(json, { env, homeDir: "/home/op" });
  } catch (error) {
    if (!isAppError(error)) throw error;
    return { fields: error.fields, message: error.message, code: error.code };
  }
  throw new Error("expected parseConfig to throw");
}

describe("parseConfig", () => {
  let codexHome: string;
  beforeAll(async () => {
    codexHome = await mkdtemp(join(tmpdir(), "plexum-config-"));
  });
  afterAll(async () => {
    await rm(codexHome, { recursive: true, force: true });
  });

  it("applies the documented defaults to an empty config", () => {
    const { config, warnings } = parseConfig({}, { env, homeDir: "/home/op" });
    expect(warnings).toEqual([]);
    expect(config).toEqual({
      backend: "exec",
      binary: undefined,
      extraArgs: [],
      supportedModels: ["codex"],
      modelArgs: {},
      stateDir: "/var/lib/xdg/plexum-openai-provider",
      codexHome: undefined,
      perAgentCodexHome: false,
      endpoint: undefined,
      openai: { apiKeyEnv: undefined, baseUrl: undefined },
      sandbox: "bypass",
      writableDirs: [],
      networkAccess: false,
      reasoningEffort: undefined,
      worktree: { enabled: false, baseRef: "" },
      diffMaxBytes: 1_048_576,
      configOverrides: [],
      timeouts: {
        turnMs: 3_600_000,
        interruptGraceMs: 5000,
        terminateGraceMs: 2000,
        versionProbeMs: 10_000,
        idleMs: 900_000,
        firstEventMs: 120_000,
        appServerIdleMs: 600_000,
      },
      threadLostPolicy: "new_thread",
      mcpHost: {
        command: undefined,
        socketDir: undefined,
        startupTimeoutMs: 20_000,
        toolTimeoutMs: 330_000,
        hostTimeoutMs: 300_000,
      },
    });
  });

  it("falls back to ~/.local/state when XDG_STATE_HOME is unset or relative", () => {
    for (const xdg of [undefined, "", "relative/state"]) {
      const { config } = parseConfig(null, { env: { XDG_STATE_HOME: xdg }, homeDir: "/home/op" });
      expect(config.stateDir).toBe("/home/op/.local/state/plexum-openai-provider");
    }
  });

  it("resolves a full valid config", () => {
    const { config } = parseConfig(
      {
        backend: "app-server",
        binary: "/opt/codex/bin/codex",
        extra_args: ["--enable", "foo"],
        supported_models: ["codex", "qwen"],
        model_args: { qwen: "qwen3-coder" },
        state_dir: "/srv/state",
        codex_home: codexHome,
        sandbox: "workspace-write",
        config_overrides: {
          model_provider: "vllm",
          model_providers: { vllm: { base_url: "http://x/v1" } },
        },
        timeouts: {
          turn_seconds: 90,
          interrupt_grace_seconds: 0.5,
          terminate_grace_seconds: 0,
          version_probe_seconds: 3,
          idle_seconds: 0,
          first_event_seconds: 30,
          app_server_idle_seconds: 60,
        },
        thread_lost_policy: "fail",
      },
      { env, homeDir: "/home/op" },
    );
    expect(config.binary).toBe("/opt/codex/bin/codex");
    expect(config.backend).toBe("app-server");
    expect(config.extraArgs).toEqual(["--enable", "foo"]);
    expect(config.modelArgs).toEqual({ qwen: "qwen3-coder" });
    expect(config.stateDir).toBe("/srv/state");
    expect(config.codexHome).toBe(codexHome);
    expect(config.sandbox).toBe("workspace-write");
    expect(config.configOverrides).toEqual([
      'model_provider="vllm"',
      'model_providers.vllm.base_url="http://x/v1"',
    ]);
    expect(config.timeouts).toEqual({
      turnMs: 90_000,
      interruptGraceMs: 500,
      terminateGraceMs: 0,
      versionProbeMs: 3000,
      idleMs: 0,
      firstEventMs: 30_000,
      appServerIdleMs: 60_000,
    });
    expect(config.threadLostPolicy).toBe("fail");
  });

  it("accepts the config as JSON text and rejects malformed JSON", () => {
    expect(parseConfig('{"sandbox":"read-only"}', { env }).config.sandbox).toBe("read-only");
    const error = configError("{not json");
    expect(error.code).toBe("CONFIG_INVALID");
    expect(error.message).toContain("not valid JSON");
  });

  it("names every bad and unknown field at once", () => {
    const error = configError({
      binary: 42,
      extra_args: "--x",
      supported_models: [],
      model_args: { codex: "-m" },
      state_dir: "relative/dir",
      codex_home: "/definitely/not/here",
      sandbox: "yolo",
      config_overrides: { "a.b": 1, nested: { gone: null }, fine: "ok" },
      timeouts: { turn_seconds: -1, interrupt_grace_seconds: "5", surprise: 1 },
      api_key: "sk-should-not-be-here",
    });
    expect(error.code).toBe("CONFIG_INVALID");
    const expected = [
      "binary",
      "extra_args",
      "supported_models",
      "model_args.codex",
      "state_dir",
      "codex_home",
      "sandbox",
      "config_overrides.a.b",
      "config_overrides.nested.gone",
      "timeouts.turn_seconds",
      "timeouts.interrupt_grace_seconds",
      "timeouts.surprise",
      "api_key",
    ];
    expect([...error.fields].sort()).toEqual([...expected].sort());
    for (const field of expected) expect(error.message).toContain(`${field}:`);
    expect(error.message).toContain("unknown key");
  });

  it("rejects a codex_home that is a file, and a repeated model", () => {
    const error = configError({ codex_home: "/etc/hostname", supported_models: ["a", "a"] });
    expect(error.fields).toEqual(expect.arrayContaining(["codex_home", "supported_models"]));
    expect(error.message).toContain("not a directory");
  });

  it("warns about a relative binary, unused model_args and flags the plugin owns", () => {
    const { warnings } = parseConfig(
      {
        binary: "codex",
        model_args: { other: "x" },
        extra_args: ["--json", "--enable", "x", "--model=o3"],
      },
      { env },
    );
    expect(warnings.map((warning) => warning.field)).toEqual([
      "binary",
      "model_args.other",
      "extra_args.0",
      "extra_args.3",
    ]);
    expect(warnings[0]?.message).toContain("absolute path");
  });
});
