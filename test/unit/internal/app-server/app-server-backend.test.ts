// The app-server backend against a fake server (test/fixtures/bin/fake-app-server-turns.mjs): turns share
// one warm server, an idle server stops, a server that dies ends its turn with APP_SERVER_EXITED and
// the next turn gets a new one, and a turn that ignores turn/interrupt is ended by a restart. The
// host-tool bridge goes per thread: agents share a server, and a loaded thread whose bridge changed
// is loaded again.
import { afterEach, describe, expect, it } from "vitest";

import {
  AppServerBackend,
  serverSpecOf,
} from "../../../../internal/app-server/app-server-backend.js";
import { AppServerPool } from "../../../../internal/app-server/app-server-pool.js";
import type { CodexFeature } from "../../../../internal/codex/codex-capabilities.js";
import type { McpServerRegistration } from "../../../../internal/mcp/mcp-registration.js";
import { ProcessRegistry } from "../../../../internal/proc/process-registry.js";
import { ProcessScanner } from "../../../../internal/proc/process-scanner.js";
import type { BackendEvent, CodexRun } from "../../../../internal/turn/codex-backend.js";
import { fakeCodex, silentLogger } from "../../../helpers/fake-codex.js";

const pools: AppServerPool[] = [];
afterEach(async () => {
  await Promise.all(pools.splice(0).map((pool) => pool.shutdown("test over")));
});

function backend(idleMs = 60_000) {
  const pool = new AppServerPool({
    processes: new ProcessRegistry(),
    scanner: new ProcessScanner(),
    interruptGraceMs: 200,
    terminateGraceMs: 200,
    logger: silentLogger,
    clientInfo: { name: "test", version: "1" },
  });
  pools.push(pool);
  return new AppServerBackend({
    pool,
    env: { PATH: process.env["PATH"] ?? "" },
    interruptGraceMs: 100,
    terminateGraceMs: 100,
    idleMs,
  });
}

function bridge(agent: string): McpServerRegistration {
  return {
    name: `plexum_host_${agent}`,
    command: "/opt/plugin",
    args: ["mcp-host"],
    env: { PLEXUM_MCP_SOCKET: `/state/mcp/${agent}.sock` },
    startupTimeoutSec: 20,
    toolTimeoutSec: 330,
  };
}

function run(
  prompt: string,
  parts: Partial<CodexRun> = {},
  features: readonly CodexFeature[] = ["app_server_turns"],
): CodexRun {
  return {
    agentId: "a",
    codex: { path: fakeCodex("fake-app-server-turns.mjs"), features },
    prompt,
    cwd: process.cwd(),
    codexHome: undefined,
    sqliteHome: undefined,
    sandbox: "bypass",
    writableDirs: [],
    networkAccess: undefined,
    cliModel: undefined,
    configOverrides: [],
    images: [],
    outputSchemaPath: undefined,
    resumeThreadId: undefined,
    mcpServers: [],
    env: { set: {}, unset: [] },
    logger: silentLogger,
    ...parts,
  };
}

async function turn(
  b: AppServerBackend,
  prompt: string,
  signal = new AbortController().signal,
  parts: Partial<CodexRun> = {},
) {
  const started = b.start(run(prompt, parts), signal);
  const events: BackendEvent[] = [];
  for await (const batch of started.batches) events.push(...batch.events);
  return { events, exit: await started.exit };
}

function textOf(events: BackendEvent[]): string {
  const text = events.find((event) => event.kind === "text");
  return text?.kind === "text" ? text.text : "";
}

describe("AppServerBackend", () => {
  it("runs turns on one warm server, streaming deltas before the whole text", async () => {
    const b = backend();
    const first = await turn(b, "one");
    const second = await turn(b, "two");
    expect(first.events.map((event) => event.kind)).toEqual([
      "thread_started",
      "text_delta",
      "text_delta",
      "text",
      "turn_completed",
    ]);
    expect(first.exit).toMatchObject({ exitCode: 0, crash: undefined });
    const pid = (text: string) => text.split(" ")[1];
    expect(pid(textOf(second.events))).toBe(pid(textOf(first.events)));
  });

  it("stops an idle server; the next turn starts another", async () => {
    const b = backend(100);
    const first = await turn(b, "one");
    await new Promise((resolve) => setTimeout(resolve, 400));
    const second = await turn(b, "two");
    expect(textOf(second.events).split(" ")[1]).not.toBe(textOf(first.events).split(" ")[1]);
  });

  it("ends the turn of a server that died with APP_SERVER_EXITED, then starts a new one", async () => {
    const b = backend();
    const died = await turn(b, "die");
    expect(died.exit.crash).toMatchObject({ code: "APP_SERVER_EXITED" });
    expect(died.exit.crash?.message).toContain("exit code 3");
    const next = await turn(b, "after");
    expect(next.exit).toMatchObject({ exitCode: 0, crash: undefined });
    expect(textOf(next.events)).toContain("after");
  });

  it("refuses a codex older than the backend needs with BACKEND_UNSUPPORTED, starting nothing", async () => {
    const b = backend();
    const started = b.start(run("old", {}, []), new AbortController().signal);
    const events: BackendEvent[] = [];
    for await (const batch of started.batches) events.push(...batch.events);
    const exit = await started.exit;
    expect(events).toEqual([]);
    expect(exit.refusal).toMatchObject({ code: "BACKEND_UNSUPPORTED" });
    expect(exit.refusal?.message).toContain("needs codex 0.169.0 or newer");
  });

  it("restarts a server whose turn ignores turn/interrupt", async () => {
    const b = backend();
    const controller = new AbortController();
    const pending = turn(b, "hang", controller.signal);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const started = performance.now();
    controller.abort(new Error("cancelled by the test"));
    const { exit } = await pending;
    expect(performance.now() - started).toBeLessThan(3000);
    expect(exit.crash).toMatchObject({ code: "APP_SERVER_EXITED" });
    expect((await turn(b, "fresh")).exit).toMatchObject({ exitCode: 0 });
  });

  it("keys the server without the host-tool bridge, so agents of one CODEX_HOME share it", async () => {
    const env = { PATH: "/bin" };
    const alpha = serverSpecOf(run("a", { mcpServers: [bridge("alpha")] }), env);
    expect(serverSpecOf(run("b", { mcpServers: [bridge("beta")] }), env)).toEqual(alpha);
    expect(serverSpecOf(run("c"), env)).toEqual(alpha);
    expect(alpha.configOverrides.some((o) => o.startsWith("mcp_servers."))).toBe(false);

    const b = backend();
    const signal = new AbortController().signal;
    const first = await turn(b, "one", signal, { mcpServers: [bridge("alpha")] });
    const second = await turn(b, "two", signal, { mcpServers: [bridge("beta")] });
    const pid = (text: string) => text.split(" ")[1];
    expect(pid(textOf(second.events))).toBe(pid(textOf(first.events)));
  });

  it("loads a thread again when the run's bridge is not the one it was loaded with", async () => {
    const b = backend();
    const signal = new AbortController().signal;
    const thread = { resumeThreadId: "01a23c94-e915-7851-848e-110d7b8f2abb" };
    const withAlpha = { ...thread, mcpServers: [bridge("alpha")] };
    await turn(b, "with tools", signal, withAlpha);
    await turn(b, "with tools again", signal, withAlpha);
    await turn(b, "without tools", signal, thread);
    const loads = await turn(b, "loads", signal, withAlpha);
    expect(textOf(loads.events)).toMatch(
      / loads thread\/resume:plexum_host_alpha thread\/resume:- thread\/resume:plexum_host_alpha$/,
    );
  });
});
