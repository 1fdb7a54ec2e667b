// The built dev host (dist/plexum-dev-host) driving the built plugin through the real handshake and
// the real codex against a mock Responses API: each of `run`'s flags, the output a person reads, and
// the plugin's log lines (no key twice in one record).
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, readdir, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";

import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";

import { codexVersionDiagnostics } from "../../internal/codex/codex-capabilities.js";
import { mockProviderOverrides } from "../../internal/mock-model/codex-provider-overrides.js";
import { demoScript } from "../../internal/mock-model/demo-script.js";
import {
  type ResponsesServer,
  startResponsesServer,
} from "../../internal/mock-model/responses-server.js";
import { codexUnderTest, findCodexBinary } from "../helpers/codex-bin.js";
import { duplicateJsonKeys } from "../helpers/duplicate-json-keys.js";
import { assertPluginBuilt, PLUGIN_PATH } from "../helpers/plugin-harness.js";
import { createTempDirs } from "../helpers/temp-dirs.js";

const DEV_HOST = resolve("dist/plexum-dev-host");
const codex = findCodexBinary();

interface DevHostRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The plugin's hclog lines among the dev host's stderr (PLEXUM_DEV_HOST_PLUGIN_LOGS=1). */
function pluginLogLines(run: DevHostRun): string[] {
  return run.stderr.split("\n").filter((line) => line.startsWith("{"));
}

/** Fails naming every plugin log record that holds a key twice. */
function expectNoRepeatedLogKeys(run: DevHostRun): void {
  const repeated = pluginLogLines(run)
    .map((line) => ({ line, keys: duplicateJsonKeys(line) }))
    .filter((record) => record.keys.length > 0);
  expect(repeated).toEqual([]);
}

function count(text: string, part: string): number {
  return text.split(part).length - 1;
}

describe.skipIf(!codex.found)("plexum-dev-host run, through the built plugin and codex", () => {
  const temp = createTempDirs();
  let server: ResponsesServer;
  let dir: string;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    assertPluginBuilt();
    if (!existsSync(DEV_HOST)) throw new Error(`${DEV_HOST} is missing: run \`npm run build\``);
    server = await startResponsesServer({ script: demoScript });
  });
  afterAll(() => server.close());
  afterEach(() => temp.removeAll());

  // A fresh home per test: the default state_dir, CODEX_HOME and temp dir all point inside it, so
  // nothing outside is read or written, and what --mock leaves behind can be seen.
  async function setUp(): Promise<void> {
    dir = await temp.make("dev-host");
    await Promise.all(["home", "tmp", "workspace", "codex-home"].map((d) => mkdir(join(dir, d))));
    env = {
      ...process.env,
      HOME: join(dir, "home"),
      XDG_STATE_HOME: join(dir, "home", "state"),
      TMPDIR: join(dir, "tmp"),
      PLEXUM_DEV_HOST_PLUGIN_LOGS: "1",
      PLEXUM_LOG_LEVEL: "debug",
    };
    for (const key of ["CODEX_API_KEY", "OPENAI_API_KEY", "CODEX_HOME"]) delete env[key];
  }

  /** A plugin config for the test's mock model, state kept in the test's directory. */
  function pluginConfig(overrides: Record<string, unknown> = {}): Record<string, unknown> {
    if (!codex.found) throw new Error(codex.reason);
    return {
      binary: codex.path,
      state_dir: join(dir, "state"),
      codex_home: join(dir, "codex-home"),
      config_overrides: mockProviderOverrides(server.url),
      ...overrides,
    };
  }

  async function writeJson(name: string, value: unknown): Promise<string> {
    const file = join(dir, name);
    await writeFile(file, JSON.stringify(value));
    return file;
  }

  function devHost(args: string[]): Promise<DevHostRun> {
    return new Promise((done, fail) => {
      const child = spawn(DEV_HOST, args, { env, cwd: join(dir, "workspace") });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
      child.on("error", fail);
      child.on("close", (code) => done({ code, stdout, stderr }));
    });
  }

  const threadOf = (stdout: string, kind: "new" | "resumed"): string[] =>
    [...stdout.matchAll(new RegExp(`▶ ${kind} thread ([0-9a-f-]{36})`, "g"))].map(
      (m) => m[1] ?? "",
    );

  it("--mock: turns offline against the embedded model, with the config's codex, in throw-away state", async () => {
    await setUp();
    const config = await writeJson("plugin.json", { binary: codex.found ? codex.path : "" });
    const run = await devHost([
      "run",
      "--mock",
      "--config",
      config,
      "My name is Bob. Please list the files.",
      "What is my name?",
    ]);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^mock model at http:\/\/127\.0\.0\.1:\d+\/v1: offline/m);
    expect(run.stdout).toContain(
      `codex ${codexUnderTest()?.version} at ${codex.found ? codex.path : ""} (config)`,
    );
    const [first] = threadOf(run.stdout, "new");
    expect(first).toBeDefined();
    // The second turn resumes the thread this run started: no hint about an earlier one.
    expect(run.stdout).toContain(`▶ resumed thread ${first} · model`);
    expect(run.stdout).toContain("🔧 $ /bin/bash -c ls");
    expect(run.stdout).toContain("Your name is Bob.");
    expect(count(run.stdout, "■ turn completed")).toBe(2);
    expect(run.stdout).toMatch(/^the mock model served 3 requests$/m);
    // The test's own mock saw nothing: the embedded one answered.
    expect(server.requests).toHaveLength(0);
    // Nothing of the mock run stays: no agent state in the default state_dir, no temp root. (The
    // plugin's V8 code cache, $TMPDIR/plexum-openai-provider-plugin-<uid>, is meant to stay.)
    expect(existsSync(join(dir, "home", "state", "plexum-openai-provider", "agents"))).toBe(false);
    const codeCache = /^plexum-openai-provider-plugin-\d+$/;
    expect(
      (await readdir(join(dir, "tmp"))).filter(
        (f) => f.startsWith("plexum-") && !codeCache.test(f),
      ),
    ).toEqual([]);
    expectNoRepeatedLogKeys(run);
  });

  it("--config: takes the plugin's own config object and the daemon's config.json alike", async () => {
    await setUp();
    const plain = await writeJson("plugin.json", pluginConfig());
    const daemon = await writeJson("config.json", {
      providers: [
        { name: "other", path: "/nonexistent/plugin", config: {} },
        { name: "codex", path: PLUGIN_PATH, config: pluginConfig() },
      ],
    });
    const first = await devHost(["run", "--config", plain, "My name is Dana."]);
    expect(first.code, first.stdout + first.stderr).toBe(0);
    expect(first.stdout).toContain(`config ${plain} (a plugin config)`);
    const [thread] = threadOf(first.stdout, "new");

    // The daemon's file names the plugin too; this run resumes the agent's thread, and says so.
    const second = await devHost([
      "run",
      "--config",
      daemon,
      "--provider",
      "codex",
      "--plugin",
      "/nonexistent/ignored-when-given",
      "What is my name?",
    ]);
    // --plugin wins over the config's path: a path that does not exist fails to launch.
    expect(second.code).toBe(1);
    expect(second.stderr).toContain("/nonexistent/ignored-when-given");

    const third = await devHost([
      "run",
      "--config",
      daemon,
      "--provider",
      "codex",
      "What is my name?",
    ]);
    expect(third.code, third.stdout + third.stderr).toBe(0);
    expect(third.stdout).toContain(`config ${daemon} (provider codex of a daemon config.json)`);
    expect(third.stdout).toContain(
      `▶ resumed thread ${thread} (the agent's last thread; --new-thread starts a new one)`,
    );
    expect(third.stdout).toContain("Your name is Dana.");

    // The first entry's path is not the plugin: picking it fails to launch, naming that path.
    const wrong = await devHost(["run", "--config", daemon, "hello"]);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain("/nonexistent/plugin");
    expectNoRepeatedLogKeys(first);
    expectNoRepeatedLogKeys(third);
  });

  it("--new-thread: forgets the agent's thread first and says which thread the turn started", async () => {
    await setUp();
    const config = await writeJson("plugin.json", pluginConfig());
    const first = await devHost(["run", "--config", config, "--agent", "a1", "My name is Erin."]);
    expect(first.code, first.stdout + first.stderr).toBe(0);
    const [old] = threadOf(first.stdout, "new");

    const fresh = await devHost([
      "run",
      "--config",
      config,
      "--agent",
      "a1",
      "--new-thread",
      "What is my name?",
    ]);
    expect(fresh.code, fresh.stdout + fresh.stderr).toBe(0);
    expect(fresh.stdout).toContain(
      `thread ${old} of agent a1 reset; the next turn starts a new thread`,
    );
    const [started] = threadOf(fresh.stdout, "new");
    expect(started).toBeDefined();
    expect(started).not.toBe(old);
    expect(threadOf(fresh.stdout, "resumed")).toEqual([]);
    // The model saw no earlier conversation.
    expect(fresh.stdout).toContain("I don't know your name");

    // An agent without a thread: said so, and the turn runs.
    const none = await devHost(["run", "--config", config, "--agent", "a2", "--new-thread", "hi"]);
    expect(none.code, none.stdout + none.stderr).toBe(0);
    expect(none.stdout).toContain("agent a2 has no thread yet; its next turn starts one");
    expectNoRepeatedLogKeys(fresh);
  });

  it("--json: one JSON object per line, every event, and a summary last", async () => {
    await setUp();
    const config = await writeJson("plugin.json", pluginConfig());
    const run = await devHost(["run", "--json", "--config", config, "list the files", "thanks"]);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    const lines = run.stdout.trimEnd().split("\n");
    const objects = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    // Configure warns once per feature an older codex lacks (none for the pin).
    const warnings = codexVersionDiagnostics(codexUnderTest()?.version ?? "", "exec").map(
      () => "diagnostic",
    );
    expect(objects.map((o) => o.type).filter((t) => t !== "event")).toEqual([
      "config_file",
      "plugin",
      "codex",
      ...warnings,
      "turn",
      "turn",
      "plugin_stopped",
      "summary",
    ]);
    const events = objects.filter((o) => o.type === "event");
    const started = events.find((o) => o.turn === 1 && "turn_started" in o)?.turn_started as
      { thread_id: string; resumed?: boolean } | undefined;
    expect(started?.thread_id).toMatch(/^[0-9a-f-]{36}$/);
    // Canonical protobuf JSON: snake_case names, enums by name, 64-bit integers as strings.
    const ends = events.filter((o) => "turn_end" in o).map((o) => o.turn_end);
    expect(ends).toHaveLength(2);
    expect(ends[0]).toMatchObject({ outcome: "OUTCOME_COMPLETED", thread_id: started?.thread_id });
    expect(events.some((o) => o.turn === 1 && "tool" in o)).toBe(true);
    expect(events[0]).toMatchObject({ seq: "1" });
    const summary = objects.at(-1);
    expect(summary).toMatchObject({
      type: "summary",
      ok: true,
      agent_id: "dev-agent",
      turns: [
        { prompt: "list the files", thread_id: started?.thread_id, resumed: false },
        { prompt: "thanks", thread_id: started?.thread_id, resumed: true, outcome: "completed" },
      ],
    });
    const turns = (summary as { turns: { usage: { input_tokens: unknown } }[] }).turns;
    expect(typeof turns[0]?.usage.input_tokens).toBe("number");
    expect(server.requests.length).toBeGreaterThanOrEqual(3);
    expectNoRepeatedLogKeys(run);
  });

  it("prints each fact once: a long auth message, an error, the usage", async () => {
    await setUp();
    // No login, no key, no mock: the turn fails before codex starts.
    const config = await writeJson(
      "plugin.json",
      pluginConfig({ config_overrides: {}, codex_home: join(dir, "codex-home") }),
    );
    const run = await devHost(["run", "--config", config, "hello"]);
    expect(run.code).toBe(1);
    const message = /codex is not logged in \([^)]*\)/.exec(run.stdout)?.[0];
    expect(message, run.stdout).toBeDefined();
    expect(count(run.stdout, message ?? "")).toBe(1);
    expect(count(run.stdout, "log codex in")).toBe(1);
    expect(run.stdout).toContain("⚠ [auth] NOT_LOGGED_IN (not retryable): as above");
    expect(run.stdout).toMatch(/^■ turn failed in \d+ ms$/m);

    const json = await devHost(["run", "--json", "--config", config, "hello"]);
    expect(json.code).toBe(1);
    const summary = JSON.parse(json.stdout.trimEnd().split("\n").at(-1) ?? "") as unknown;
    expect(summary).toMatchObject({
      type: "summary",
      ok: false,
      turns: [{ outcome: "failed", error: { class: "auth", code: "NOT_LOGGED_IN" } }],
    });

    // A completed turn: its usage once, with the thread total only when it differs.
    const mock = await devHost(["run", "--mock", "--config", config, "hello", "again"]);
    expect(mock.code, mock.stdout + mock.stderr).toBe(0);
    expect(count(mock.stdout, "usage")).toBe(2);
    expect(count(mock.stdout, "thread total")).toBe(1);
    expect(mock.stdout).not.toMatch(/turn completed in \d+ ms — turn completed/);
    expectNoRepeatedLogKeys(run);
  });

  it("keeps usage mistakes short: one line and exit code 2; --help on stdout", async () => {
    await setUp();
    const help = await devHost(["--help"]);
    expect(help.code).toBe(0);
    expect(count(help.stdout, "usage:")).toBe(1);
    expect(help.stdout).toContain("--new-thread");
    for (const args of [
      ["run"],
      ["run", "--bogus", "x"],
      ["walk"],
      ["run", "--provider", "p", "x"],
    ]) {
      const run = await devHost(args);
      expect(run.code, args.join(" ")).toBe(args.includes("--provider") ? 1 : 2);
      expect(run.stdout).toBe("");
      expect(run.stderr.trimEnd().split("\n")).toHaveLength(1);
      expect(run.stderr).toMatch(/^plexum-dev-host: /);
    }
  });

  it("stops quietly when its reader goes away (`| head -1`), cancelling the turn", async () => {
    await setUp();
    const config = await writeJson("plugin.json", { binary: codex.found ? codex.path : "" });
    const child = spawn(DEV_HOST, ["run", "--mock", "--json", "--config", config, "hi", "again"], {
      env,
      cwd: join(dir, "workspace"),
    });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const closed = new Promise<number | null>((done) => child.on("close", done));
    // Read one line, then close the pipe as head does.
    await new Promise<void>((done) => child.stdout.once("data", () => done()));
    child.stdout.destroy();
    expect(await closed, stderr).toBe(1);
    // Nothing but the plugin's log records: no EPIPE stack trace.
    expect(stderr.split("\n").filter((line) => !line.startsWith("{") && line !== "")).toEqual([]);
  });

  it("logs no key twice in one record, over turns with a command, a resume, a reset and a failure", async () => {
    await setUp();
    const config = await writeJson("plugin.json", pluginConfig());
    const runs = [
      await devHost(["run", "--config", config, "list the files", "hello"]),
      await devHost(["run", "--config", config, "--new-thread", "hello"]),
      await devHost(["run", "--config", config, "--model", "no-such-model", "hello"]),
    ];
    const records = runs.flatMap(pluginLogLines);
    // The records the duplicate was once seen in, and the rest of a turn's, are there to check.
    const messages = records.map(
      (line) => (JSON.parse(line) as { "@message": string })["@message"],
    );
    for (const message of [
      "turn started",
      "spawned codex",
      "codex exited",
      "turn ended",
      "thread reset",
    ]) {
      expect(messages).toContain(message);
    }
    expect(records.filter((line) => line.includes('"agent_id"')).length).toBeGreaterThan(8);
    for (const run of runs) expectNoRepeatedLogKeys(run);
  });
});
