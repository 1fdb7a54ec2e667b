// servePlugin as a real process: the bundled fixture plugin, spawned the way a go-plugin host does.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";

import * as grpc from "@grpc/grpc-js";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";

import {
  Health,
  HealthCheckResponse_ServingStatus as ServingStatus,
} from "../../../../src/gen/grpc/health/v1/health_pb.js";
import { createServiceClient } from "../../../../src/plugin/grpc-client.js";
import { NOT_A_PLUGIN_MESSAGE } from "../../../../src/plugin/handshake.js";
import { createTempDirs } from "../../../helpers/temp-dirs.js";
import { buildSdkFixture, FIXTURE_COOKIE_KEY, FIXTURE_COOKIE_VALUE } from "../sdk-fixture.js";

const dirs = createTempDirs();
let fixture: string;
const children: ChildProcess[] = [];
// Plugins whose parent the test killed; they are not our children any more.
const orphans: number[] = [];

beforeAll(async () => {
  fixture = await buildSdkFixture(await dirs.make("sdk-fixture"));
});
afterEach(() => {
  for (const child of children.splice(0))
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  for (const pid of orphans.splice(0)) {
    try {
      // Only if the pid still belongs to the fixture, not to a process that reused it.
      if (readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("sdk-plugin"))
        process.kill(pid, "SIGKILL");
    } catch {
      // Already gone, as it should be.
    }
  }
});
afterAll(() => dirs.removeAll());

interface Running {
  child: ChildProcess;
  /** Every stdout byte so far. */
  stdout: () => string;
  /** Every stderr byte so far. */
  stderr: () => string;
  firstLine: Promise<string>;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
}

function baseEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const key of Object.keys(env))
    if (key.startsWith("PLUGIN_") || key === FIXTURE_COOKIE_KEY) delete env[key];
  return env;
}

function start(env: NodeJS.ProcessEnv, command = fixture, args: string[] = []): Running {
  const child = spawn(command, args, { env, stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  let stdout = "";
  let stderr = "";
  child.stdout?.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  const firstLine = new Promise<string>((resolve, reject) => {
    const onData = (): void => {
      const end = stdout.indexOf("\n");
      if (end >= 0) {
        child.stdout?.off("data", onData);
        resolve(stdout.slice(0, end + 1));
      }
    };
    child.stdout?.on("data", onData);
    child.once("exit", () =>
      reject(new Error(`exited before a handshake line; stderr: ${stderr}`)),
    );
  });
  firstLine.catch(() => {});
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>(
    (resolve) =>
      child.once("exit", (code, signal) => resolve({ code, signal, at: performance.now() })),
  );
  return { child, stdout: () => stdout, stderr: () => stderr, firstLine, exit };
}

function pluginEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    ...baseEnv(),
    [FIXTURE_COOKIE_KEY]: FIXTURE_COOKIE_VALUE,
    PLUGIN_PROTOCOL_VERSIONS: "1",
    ...extra,
  };
}

function records(stderr: string): Record<string, unknown>[] {
  return stderr
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

async function healthCheck(target: string): Promise<number> {
  const health = createServiceClient(Health, target, grpc.credentials.createInsecure());
  try {
    return (await health.check({ service: "plugin" }, { deadline: Date.now() + 3000 })).status;
  } finally {
    health.close();
  }
}

const unixLine = /^1\|1\|unix\|(\/[^|\n]+)\|grpc\|\n$/;

describe("the plugin binary without its magic cookie", () => {
  it.each([
    ["missing", {}],
    ["wrong", { [FIXTURE_COOKIE_KEY]: "nope" }],
  ])("exits 1 with go-plugin's message on stderr and nothing on stdout (%s)", (_name, extra) => {
    const run = spawnSync(fixture, [], {
      env: { ...baseEnv(), ...extra },
      encoding: "utf8",
      timeout: 10_000,
    });
    expect(run.status).toBe(1);
    expect(run.stdout).toBe("");
    expect(run.stderr).toBe(NOT_A_PLUGIN_MESSAGE);
  });
});

describe("the plugin binary with its magic cookie", () => {
  it("writes exactly one handshake line as its first and only stdout bytes", async () => {
    const dir = await dirs.make("proc");
    const plugin = start(pluginEnv({ PLUGIN_UNIX_SOCKET_DIR: dir }));
    const line = await plugin.firstLine;
    const path = unixLine.exec(line)?.[1];
    expect(line).toMatch(unixLine);
    expect(path?.startsWith(`${dir}/`)).toBe(true);
    expect(existsSync(path ?? "")).toBe(true);
    expect(await healthCheck(`unix:${path}`)).toBe(ServingStatus.SERVING);
    plugin.child.kill("SIGTERM");
    await plugin.exit;
    expect(plugin.stdout()).toBe(line);
  });

  it("announces the highest common app protocol version", async () => {
    const plugin = start(pluginEnv({ PLUGIN_PROTOCOL_VERSIONS: "5,2,1" }));
    expect(await plugin.firstLine).toMatch(/^1\|2\|unix\|/);
  });

  it("warns in hclog about each entry of PLUGIN_PROTOCOL_VERSIONS that is not an integer", async () => {
    const plugin = start(pluginEnv({ PLUGIN_PROTOCOL_VERSIONS: "x,2,v1" }));
    expect(await plugin.firstLine).toMatch(/^1\|2\|unix\|/);
    plugin.child.kill("SIGTERM");
    await plugin.exit;
    const warnings = records(plugin.stderr()).filter(
      (record) => record["@message"] === "server sent invalid plugin version",
    );
    expect(warnings.map((record) => [record["@level"], record["version"]])).toEqual([
      ["warn", "x"],
      ["warn", "v1"],
    ]);
  });

  it("writes a 7th field only when PLUGIN_MULTIPLEX_GRPC is set: whether it multiplexes", async () => {
    const yes = start(pluginEnv({ PLUGIN_MULTIPLEX_GRPC: "true" }));
    const line = await yes.firstLine;
    expect(line).toMatch(/^1\|1\|unix\|\/[^|]+\|grpc\|\|true\n$/);
    expect(line.split("|")).toHaveLength(7);
    // go-plugin multiplexes when the value parses as true; anything else serves plain gRPC.
    const no = start(pluginEnv({ PLUGIN_MULTIPLEX_GRPC: "0" }));
    const plain = await no.firstLine;
    expect(plain).toMatch(/^1\|1\|unix\|\/[^|]+\|grpc\|\|false\n$/);
    expect(await healthCheck(`unix:${plain.split("|")[3]}`)).toBe(ServingStatus.SERVING);
  });

  it("falls back to loopback TCP in the host's port range when no unix socket can be made", async () => {
    const plugin = start(
      pluginEnv({
        PLUGIN_UNIX_SOCKET_DIR: "/nonexistent/plexum",
        PLUGIN_MIN_PORT: "41000",
        PLUGIN_MAX_PORT: "41999",
      }),
    );
    const line = await plugin.firstLine;
    const match = /^1\|1\|tcp\|127\.0\.0\.1:(\d+)\|grpc\|\n$/.exec(line);
    expect(match).not.toBeNull();
    const port = Number(match?.[1]);
    expect(port).toBeGreaterThanOrEqual(41000);
    expect(port).toBeLessThanOrEqual(41999);
    expect(await healthCheck(`127.0.0.1:${port}`)).toBe(ServingStatus.SERVING);
  });

  it("logs hclog JSON on stderr", async () => {
    const plugin = start(pluginEnv());
    await plugin.firstLine;
    plugin.child.kill("SIGTERM");
    await plugin.exit;
    const logged = records(plugin.stderr());
    expect(logged.length).toBeGreaterThan(0);
    for (const record of logged) {
      expect(record["@level"]).toMatch(/^(trace|debug|info|warn|error)$/);
      expect(record["@timestamp"]).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/);
      expect(typeof record["@message"]).toBe("string");
    }
    expect(
      plugin
        .stderr()
        .split("\n")
        .filter((line) => line !== "" && !line.startsWith("{")),
    ).toEqual([]);
  });

  it("ignores SIGINT and keeps serving", async () => {
    const plugin = start(pluginEnv());
    const path = unixLine.exec(await plugin.firstLine)?.[1] ?? "";
    plugin.child.kill("SIGINT");
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(plugin.child.exitCode).toBeNull();
    expect(plugin.child.signalCode).toBeNull();
    expect(records(plugin.stderr()).map((r) => r["@message"])).toContain(
      "plugin received interrupt signal, ignoring",
    );
    expect(await healthCheck(`unix:${path}`)).toBe(ServingStatus.SERVING);
  });

  it("exits 0 on SIGTERM within 2 s, after onShutdown, and removes its socket", async () => {
    const plugin = start(pluginEnv());
    const path = unixLine.exec(await plugin.firstLine)?.[1] ?? "";
    const sent = performance.now();
    plugin.child.kill("SIGTERM");
    const exit = await plugin.exit;
    expect(exit).toMatchObject({ code: 0, signal: null });
    expect(exit.at - sent).toBeLessThan(2000);
    expect(existsSync(path)).toBe(false);
    expect(records(plugin.stderr())).toContainEqual(
      expect.objectContaining({ "@message": "fixture onShutdown", reason: "sigterm" }),
    );
  });

  it("still exits within 2 s when onShutdown never settles", async () => {
    const plugin = start(pluginEnv({ SDK_FIXTURE_HANG_ON_SHUTDOWN: "1" }));
    const path = unixLine.exec(await plugin.firstLine)?.[1] ?? "";
    const sent = performance.now();
    plugin.child.kill("SIGTERM");
    const exit = await plugin.exit;
    expect(exit).toMatchObject({ code: 0, signal: null });
    expect(exit.at - sent).toBeLessThan(2000);
    expect(existsSync(path)).toBe(false);
  });

  it("shuts down with reason host-gone when its parent dies", async () => {
    // sh stands in for the host: the plugin inherits our pipes, then sh is killed.
    const plugin = start(pluginEnv(), "/bin/sh", ["-c", '"$0" & echo "pid:$!" >&2; wait', fixture]);
    const path = unixLine.exec(await plugin.firstLine)?.[1] ?? "";
    await vi.waitFor(() => expect(plugin.stderr()).toMatch(/pid:\d+/));
    const pid = Number(/pid:(\d+)/.exec(plugin.stderr())?.[1]);
    orphans.push(pid);
    const stderrClosed = new Promise((resolve) => plugin.child.stderr?.once("close", resolve));
    const killed = performance.now();
    plugin.child.kill("SIGKILL");
    await stderrClosed;
    expect(performance.now() - killed).toBeLessThan(3000);
    expect(records(plugin.stderr())).toContainEqual(
      expect.objectContaining({ "@message": "fixture onShutdown", reason: "host-gone" }),
    );
    expect(existsSync(path)).toBe(false);
  });
});
