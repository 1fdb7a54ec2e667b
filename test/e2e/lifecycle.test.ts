// Lifecycle hardening, end to end: the BUILT plugin through the real handshake, the real codex
// against the mock Responses API (or fake codex executables for fault injection). No orphans, no
// hangs, no lost threads, under cancel, crash, host death and bad input.
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";

import * as grpc from "@grpc/grpc-js";
import { afterEach, describe, expect, it } from "vitest";

import { mockProviderOverrides } from "../../internal/mock-model/codex-provider-overrides.js";
import type { MockScript } from "../../internal/mock-model/mock-reply.js";
import { execCommand, respond, textReply } from "../../internal/mock-model/reply-builders.js";
import { lastUserPrompt } from "../../internal/mock-model/request-input.js";
import { startResponsesServer } from "../../internal/mock-model/responses-server.js";
import { LEDGER_DIR_NAME } from "../../internal/proc/process-ledger.js";
import { PLEXUM_HANDSHAKE } from "../../internal/provider/plugin-identity.js";
import { streamTurn } from "../../internal/provider/provider-client.js";
import {
  Health,
  HealthCheckResponse_ServingStatus,
} from "../../src/gen/grpc/health/v1/health_pb.js";
import {
  ErrorClass,
  Message_Role,
  ProviderPlugin,
  TurnEnd_Outcome,
  type TurnEvent,
} from "../../src/gen/plexum/provider/v1/provider_pb.js";
import { createServiceClient } from "../../src/plugin/grpc-client.js";
import { parseHandshakeLine } from "../../src/plugin/handshake.js";
import { requireCodexUnderTest } from "../helpers/codex-bin.js";
import { fakeCodex, isAlive, writeFakeControl } from "../helpers/fake-codex.js";
import { eventsOf, ON_APP_SERVER, PLUGIN_PATH, PluginHarness } from "../helpers/plugin-harness.js";
import { TinyTmpfs, tmpfsAvailable } from "../helpers/tiny-tmpfs.js";
import { cancelLoopScript, runCancelLoop } from "../soak/cancel-loop.js";
import { findProcesses, waitUntil } from "../soak/process-stats.js";

const HOST_PROXY = resolve("test/fixtures/host-proxy.mjs");

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});

async function startHarness(options: Parameters<typeof PluginHarness.start>[0]) {
  const harness = await PluginHarness.start(options);
  cleanups.push(() => harness.close());
  return harness;
}

// A unique number for `sleep` argv, so only this test's processes match.
function marker(): string {
  return String(100_000 + Math.floor(Math.random() * 800_000));
}

// The model runs a foreground `sleep <m>2` with a background `sleep <m>1` that ignores SIGTERM.
function longCommand(m: string): MockScript {
  return () =>
    respond(
      execCommand(`(trap '' TERM; exec sleep ${m}1) & exec sleep ${m}2`, {
        extraArgs: { yield_time_ms: 60_000 },
      }),
    );
}

const isSleep = (m: string) => (argv: string[]) =>
  argv[0] === "sleep" && (argv[1] === `${m}1` || argv[1] === `${m}2`);

// The turn's processes: the sleeps anywhere, and anything running in the workspace (codex).
function turnProcesses(m: string, workspace: string) {
  return findProcesses((argv, cwd) => isSleep(m)(argv) || cwd === workspace);
}

async function waitForSleeps(m: string): Promise<number[]> {
  return waitUntil("both sleeps to run", async () => {
    const found = await findProcesses(isSleep(m));
    return found.length === 2 ? found : undefined;
  });
}

function ledgerRecords(stateDir: string): string[] {
  const dir = join(stateDir, LEDGER_DIR_NAME);
  return existsSync(dir) ? readdirSync(dir).filter((name) => name.endsWith(".json")) : [];
}

function grpcError(error: unknown): { code: number; details: string } {
  return error as { code: number; details: string };
}

describe("process accounting and the boot reaper", () => {
  it("reaps, in the next plugin instance, the codex and the SIGTERM-ignoring command a SIGKILLed plugin left", async () => {
    const m = marker();
    const first = await startHarness({ script: longCommand(m) });
    const turn = first
      .turn({ agentId: "reaper", prompt: "run the long command" })
      .catch((error: unknown) => error);
    const sleeps = await waitForSleeps(m);
    // The ledger holds codex and, after the next descendant scan, both sleeps.
    const record = await waitUntil("the ledger to list both sleeps", () => {
      const [name] = ledgerRecords(first.stateDir);
      if (name === undefined) return undefined;
      const text = readFileSync(join(first.stateDir, LEDGER_DIR_NAME, name), "utf8");
      const parsed = JSON.parse(text) as {
        process: { pid: number };
        descendants: { pid: number }[];
      };
      const pids = parsed.descendants.map((entry) => entry.pid);
      return sleeps.every((pid) => pids.includes(pid)) ? parsed : undefined;
    });

    process.kill(first.plugin.process.pid as number, "SIGKILL");
    await first.plugin.exited;
    await turn;
    await new Promise((done) => setTimeout(done, 300));
    // Without a reaper these would run on: codex and its commands are in sessions of their own.
    const leftovers = await turnProcesses(m, first.workspace);
    // codex app-server ends its commands itself when its stdin closes (its parent died); what it
    // left (if anything) is the reaper's, as below.
    if (!ON_APP_SERVER) {
      expect(leftovers).toEqual(expect.arrayContaining([...sleeps, record.process.pid]));
    }
    // And a thread write the crash cut short.
    const { agentDirName } = await import("../../internal/core/agent-id.js");
    const staleTemp = join(first.stateDir, "agents", agentDirName("reaper"), "thread.json.3141592");
    await writeFile(staleTemp, '{"thread_id":"half-writ');

    const second = await startHarness({
      script: [textReply("back after the crash")],
      config: { state_dir: first.stateDir, codex_home: first.codexHome },
    });
    // Configure returned: the reaper has run and waited for its kills.
    expect(await turnProcesses(m, first.workspace)).toEqual([]);
    expect(ledgerRecords(first.stateDir)).toEqual([]);
    expect(existsSync(staleTemp)).toBe(false);
    expect(
      second.stderrLines.some((line) =>
        line.includes("killed codex processes left by an earlier plugin instance"),
      ),
    ).toBe(true);

    const after = await second.turn({
      agentId: "reaper",
      prompt: "are you there?",
      workspace: first.workspace,
    });
    expect(after.end.outcome).toBe(TurnEnd_Outcome.COMPLETED);
    expect(after.end.finalText).toBe("back after the crash");
  });
});

// Launches the plugin under test/fixtures/host-proxy.mjs, the way a daemon would, and connects.
async function startBehindProxy(script: MockScript) {
  const root = await mkdtemp(join(tmpdir(), "plexum-host-death-"));
  cleanups.push(() => rm(root, { recursive: true, force: true }));
  const [workspace, stateDir, codexHome] = ["workspace", "state", "codex-home"].map((name) =>
    join(root, name),
  ) as [string, string, string];
  await Promise.all([mkdir(workspace), mkdir(codexHome)]);
  const server = await startResponsesServer({ script });
  cleanups.push(() => server.close());
  const proxy = spawn(process.execPath, [HOST_PROXY, PLUGIN_PATH, join(root, "plugin.log")], {
    env: {
      ...process.env,
      [PLEXUM_HANDSHAKE.cookieKey]: PLEXUM_HANDSHAKE.cookieValue,
      PLUGIN_PROTOCOL_VERSIONS: "1",
      PLUGIN_UNIX_SOCKET_DIR: root,
      PLEXUM_LOG_LEVEL: "debug",
    },
    stdio: ["ignore", "pipe", "inherit"],
  });
  cleanups.push(async () => proxy.kill("SIGKILL"));
  const lines = proxyLines(proxy);
  const first = (await Promise.race([
    lines.next(),
    new Promise((resolve) => setTimeout(() => resolve({ timeout: true }), 15_000)),
  ])) as { pid: number; handshake: string } | { exit: unknown } | { timeout: true };
  if (!("handshake" in first)) {
    throw new Error(`the plugin behind the proxy did not hand-shake: ${JSON.stringify(first)}`);
  }
  const { pid, handshake } = first;
  cleanups.push(async () => {
    if (isAlive(pid)) process.kill(pid, "SIGKILL");
  });
  const info = parseHandshakeLine(handshake);
  const client = createServiceClient(
    ProviderPlugin,
    `unix:${info.address}`,
    grpc.credentials.createInsecure(),
  );
  cleanups.push(async () => client.close());
  await client.configure({
    configJson: new TextEncoder().encode(
      JSON.stringify({
        binary: requireCodexUnderTest().path,
        state_dir: stateDir,
        codex_home: codexHome,
        config_overrides: mockProviderOverrides(server.url),
      }),
    ),
  });
  const events: TurnEvent[] = [];
  const turn = (async () => {
    for await (const event of streamTurn(client, {
      agent: { agentId: "behind-proxy", workspace },
      conversation: [{ role: Message_Role.USER, text: "run the long command" }],
    })) {
      events.push(event);
    }
  })().catch((error: unknown) => error);
  return { proxy, lines, pid, socket: info.address, client, workspace, stateDir, root, turn };
}

function proxyLines(proxy: ChildProcess) {
  const queue: unknown[] = [];
  const waiters: ((value: unknown) => void)[] = [];
  createInterface({ input: proxy.stdout as NodeJS.ReadableStream }).on("line", (line) => {
    const value = JSON.parse(line) as unknown;
    const waiter = waiters.shift();
    if (waiter === undefined) queue.push(value);
    else waiter(value);
  });
  return {
    next: (): Promise<unknown> =>
      queue.length > 0
        ? Promise.resolve(queue.shift())
        : new Promise((resolve) => waiters.push(resolve)),
  };
}

describe("host death and shutdown", () => {
  it("kills every turn process and exits within 2 s when its host process is SIGKILLed", async () => {
    const m = marker();
    const behind = await startBehindProxy(longCommand(m));
    await waitForSleeps(m);
    const killedAt = performance.now();
    behind.proxy.kill("SIGKILL");
    await waitUntil("the plugin to exit", () => (isAlive(behind.pid) ? undefined : true), 5000);
    const exitMs = performance.now() - killedAt;
    expect(exitMs).toBeLessThan(2000);
    expect(await turnProcesses(m, behind.workspace)).toEqual([]);
    expect(existsSync(behind.socket)).toBe(false);
    expect(ledgerRecords(behind.stateDir)).toEqual([]);
  });

  it("notices a host that closed the plugin's stdio at its next log line, then does the same", async () => {
    const m = marker();
    const behind = await startBehindProxy(longCommand(m));
    await waitForSleeps(m);
    process.kill(behind.proxy.pid as number, "SIGUSR1");
    expect(await behind.lines.next()).toEqual({ closed: true });
    // Any call that logs writes to the closed pipe: EPIPE, which is how a plugin sees it.
    const writeAt = performance.now();
    await behind.client.resetThread({ agentId: "someone-else" }).catch(() => undefined);
    await waitUntil("the plugin to exit", () => (isAlive(behind.pid) ? undefined : true), 5000);
    expect(performance.now() - writeAt).toBeLessThan(2000);
    expect(await turnProcesses(m, behind.workspace)).toEqual([]);
    expect(existsSync(behind.socket)).toBe(false);
    expect(await behind.lines.next()).toEqual({ exit: { code: 0, signal: null } });
  });

  for (const how of ["Shutdown", "SIGTERM"] as const) {
    it(`${how} with a turn in flight: every process gone and the socket removed within 2 s, the thread id kept`, async () => {
      const m = marker();
      const harness = await startHarness({ script: longCommand(m) });
      const turn = harness
        .turn({ agentId: "shutdown", prompt: "run it" })
        .catch((error: unknown) => error);
      await waitForSleeps(m);
      const { thread_id: threadId } = await harness.threadRecord("shutdown");
      const socket = harness.plugin.handshake.address;
      const startedAt = performance.now();
      const exit =
        how === "Shutdown"
          ? await harness.plugin.kill()
          : (process.kill(harness.plugin.process.pid as number, "SIGTERM"),
            await harness.plugin.exited);
      const exitMs = performance.now() - startedAt;
      await turn;
      expect(exit).toMatchObject({ exitCode: 0, signal: null });
      expect(exitMs).toBeLessThan(2000);
      expect(await turnProcesses(m, harness.workspace)).toEqual([]);
      expect(existsSync(socket)).toBe(false);
      expect((await harness.threadRecord("shutdown")).thread_id).toBe(threadId);
      expect(ledgerRecords(harness.stateDir)).toEqual([]);
    });
  }
});

describe("bad input never takes the plugin down", () => {
  it("rejects bad agent ids, workspaces, prompts and conversations clearly while another agent's turn runs on", async () => {
    const harness = await startHarness({
      script: (request) =>
        lastUserPrompt(request)?.includes("slow") === true
          ? textReply("steady done", { delayMs: 4000 })
          : textReply(`ok: ${lastUserPrompt(request)?.slice(0, 40) ?? ""}`),
    });
    const steady = harness.turn({ agentId: "steady", prompt: "slow turn" });
    await waitUntil("the steady turn's request", () =>
      harness.server!.requests.length > 0 ? true : undefined,
    );

    for (const agentId of ["", "x".repeat(257), "a/b", "..", "a\0b", "ctl\u0007"]) {
      const error = await harness.turn({ agentId, prompt: "hi" }).then(
        () => undefined,
        (e: unknown) => grpcError(e),
      );
      expect(error?.code, JSON.stringify(agentId)).toBe(grpc.status.INVALID_ARGUMENT);
      expect(error?.details).toContain("AGENT_ID_INVALID");
    }

    const file = join(harness.root, "a-file");
    await writeFile(file, "not a directory");
    for (const [workspace, text] of [
      [join(harness.root, "missing"), "does not exist"],
      [file, "not a directory"],
    ] as const) {
      const { events, end } = await harness.turn({ agentId: "ws", prompt: "hi", workspace });
      expect(end.outcome).toBe(TurnEnd_Outcome.FAILED);
      expect(end.error).toMatchObject({
        class: ErrorClass.PRECONDITION,
        code: "WORKSPACE_INVALID",
      });
      expect(end.error?.message).toContain(text);
      expect(eventsOf(events, "turnStarted")).toEqual([]);
    }

    const huge = await harness.turn({ agentId: "huge", prompt: "y".repeat(1_048_577) });
    expect(huge.end.error).toMatchObject({ code: "PROMPT_TOO_LARGE" });
    expect(harness.server!.requests.some((r) => (lastUserPrompt(r)?.length ?? 0) > 1000)).toBe(
      false,
    );

    const empty = await (async () => {
      for await (const _ of streamTurn(harness.client, {
        agent: { agentId: "empty", workspace: harness.workspace },
        conversation: [],
      })) {
        // No event is expected.
      }
    })().then(
      () => undefined,
      (e: unknown) => grpcError(e),
    );
    expect(empty?.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(empty?.details).toContain("conversation is empty");

    // A 16 MiB RunTurn message (a long history) is accepted.
    const history = "h".repeat(16 * 1024 * 1024);
    const events: TurnEvent[] = [];
    for await (const event of streamTurn(harness.client, {
      agent: { agentId: "big-history", workspace: harness.workspace },
      conversation: [
        { role: Message_Role.ASSISTANT, text: history },
        { role: Message_Role.USER, text: "short question" },
      ],
    })) {
      events.push(event);
    }
    expect(eventsOf(events, "turnEnd")[0]?.finalText).toBe("ok: short question");

    // Unicode agent ids work, and resume.
    const unicode = "агент-🚀-渡辺 ✓ ünïcödé";
    const one = await harness.turn({ agentId: unicode, prompt: "first" });
    const two = await harness.turn({ agentId: unicode, prompt: "second" });
    expect(one.end.outcome).toBe(TurnEnd_Outcome.COMPLETED);
    expect(eventsOf(two.events, "turnStarted")[0]).toMatchObject({
      resumed: true,
      threadId: eventsOf(one.events, "turnStarted")[0]?.threadId,
    });

    const steadyEnd = await steady;
    expect(steadyEnd.end.finalText).toBe("steady done");
    const health = harness.plugin.createClient(Health);
    expect((await health.check({ service: "plugin" })).status).toBe(
      HealthCheckResponse_ServingStatus.SERVING,
    );
    health.close();
  });
});

describe("fault injection through the built plugin", () => {
  // A fake `codex exec` (JSONL on stdout) stands in for codex here; app-server speaks JSON-RPC.
  it.skipIf(ON_APP_SERVER)(
    "reports every misbehaving codex correctly and keeps serving",
    async () => {
      const harness = await startHarness({ skipConfigure: true });
      const configure = async (fake: string, control: Record<string, unknown> = {}) => {
        await writeFakeControl(harness.codexHome, control);
        await harness.configure({
          binary: fakeCodex(fake),
          state_dir: harness.stateDir,
          codex_home: harness.codexHome,
          timeouts: { interrupt_grace_seconds: 0.3, terminate_grace_seconds: 0.3 },
          // Any provider but the default one: the fakes need no login.
          config_overrides: { model_provider: "fake" },
        });
      };
      const turn = (agentId: string, options: Record<string, number> = {}) =>
        harness.turn({ agentId, prompt: "go", options });

      await configure("fake-codex-crash.mjs");
      const crash = await turn("crash");
      expect(crash.end).toMatchObject({ outcome: TurnEnd_Outcome.CRASHED, exitCode: 101 });
      expect(crash.end.stderrTail).toContain("panicked");

      await configure("fake-codex-no-terminal.mjs");
      const noTerminal = await turn("no-terminal");
      expect(noTerminal.end).toMatchObject({ outcome: TurnEnd_Outcome.CRASHED, exitCode: 0 });
      expect(noTerminal.end.message).toContain("without reporting turn.completed or turn.failed");

      await configure("fake-codex-silent.mjs", { ignoreSignals: true });
      const silent = await turn("silent", { firstEventTimeoutSeconds: 1 });
      expect(silent.end).toMatchObject({ outcome: TurnEnd_Outcome.FAILED, signal: "SIGKILL" });
      expect(silent.end.error).toMatchObject({
        class: ErrorClass.TIMEOUT,
        code: "TURN_FIRST_EVENT_TIMEOUT",
      });

      await configure("fake-codex-hang.mjs", { ignoreTerm: true });
      const hang = await turn("hang", { idleTimeoutSeconds: 1 });
      expect(hang.end.error?.code).toBe("TURN_IDLE_TIMEOUT");
      expect(hang.end.signal).toBe("SIGKILL");
      const pids = JSON.parse(
        readFileSync(join(harness.codexHome, "fake-pids.json"), "utf8"),
      ) as Record<string, number>;
      await waitUntil("the hang fake's grandchildren to die", () =>
        Object.values(pids).every((pid) => !isAlive(pid)) ? true : undefined,
      );

      await configure("fake-codex-reconnecting.mjs");
      const offline = await turn("offline", { idleTimeoutSeconds: 1 });
      expect(offline.end.error?.code).toBe("TURN_IDLE_TIMEOUT");
      expect(offline.end.message).toContain("Reconnecting... waiting for network");
      expect(eventsOf(offline.events, "notice").length).toBeGreaterThan(2);

      await configure("fake-codex-giant-line.mjs", { messageBytes: 15 * 1024 * 1024 });
      const giant = await turn("giant");
      expect(giant.end.outcome).toBe(TurnEnd_Outcome.COMPLETED);
      expect(eventsOf(giant.events, "notice").map((n) => n.message)).toEqual(
        expect.arrayContaining([expect.stringMatching(/over the line limit/)]),
      );
      const texts = eventsOf(giant.events, "text").map((t) => t.text);
      expect(texts).toHaveLength(1);
      expect(texts[0]?.length).toBe(15 * 1024 * 1024 + 4);

      await configure("fake-codex-messy.mjs");
      const messy = await turn("messy");
      expect(messy.end.outcome).toBe(TurnEnd_Outcome.COMPLETED);
      expect(eventsOf(messy.events, "text").map((t) => t.text)).toEqual([
        "caf\uFFFD( ok",
        "second message ✓",
      ]);
      expect(eventsOf(messy.events, "notice").length).toBeGreaterThanOrEqual(3);
      expect(messy.end.usage?.inputTokens).toBe(7n);

      await configure("fake-codex-stderr-flood.mjs");
      const flood = await turn("flood");
      expect(flood.end.outcome).toBe(TurnEnd_Outcome.COMPLETED);
      expect(flood.end.finalText).toBe("survived the flood");
      expect(flood.end.stderrTail).toContain("flood done");
      expect(Buffer.byteLength(flood.end.stderrTail)).toBeLessThan(64 * 1024);

      // Still healthy, and a well-behaved codex works as before.
      await configure("fake-codex.mjs");
      expect((await turn("after-faults")).end.outcome).toBe(TurnEnd_Outcome.COMPLETED);
      const health = harness.plugin.createClient(Health);
      expect((await health.check({ service: "plugin" })).status).toBe(
        HealthCheckResponse_ServingStatus.SERVING,
      );
      health.close();
    },
  );
});

describe.runIf(tmpfsAvailable())("a full or read-only state dir (a tiny tmpfs)", () => {
  // A fake `codex exec` (JSONL on stdout) stands in for codex here; app-server speaks JSON-RPC.
  it.skipIf(ON_APP_SERVER)(
    "goes on with a typed THREAD_STORE_FAILED error and never truncates the thread file",
    async () => {
      const tmpfs = TinyTmpfs.mount(256);
      cleanups.push(async () => tmpfs.unmount());
      const harness = await startHarness({ skipConfigure: true });
      await harness.configure({
        binary: fakeCodex("fake-codex.mjs"),
        state_dir: tmpfs.dir,
        codex_home: harness.codexHome,
        config_overrides: { model_provider: "fake" },
      });
      const turn = () => harness.turn({ agentId: "disk", prompt: "hello" });
      const first = await turn();
      expect(first.end.outcome).toBe(TurnEnd_Outcome.COMPLETED);
      const { agentDirName } = await import("../../internal/core/agent-id.js");
      const threadFile = join(tmpfs.dir, "agents", agentDirName("disk"), "thread.json");
      const stored = readFileSync(threadFile, "utf8");

      for (const [break_, errno] of [
        [() => tmpfs.fill(), "ENOSPC"],
        [() => tmpfs.remount("ro"), "EROFS"],
      ] as const) {
        break_();
        const broken = await turn();
        expect(broken.end.outcome).toBe(TurnEnd_Outcome.COMPLETED);
        expect(eventsOf(broken.events, "turnStarted")[0]?.resumed).toBe(true);
        const errors = eventsOf(broken.events, "error");
        expect(errors.map((error) => error.code)).toEqual(["THREAD_STORE_FAILED"]);
        expect(errors[0]?.message).toContain(errno);
        expect(readFileSync(threadFile, "utf8")).toBe(stored);
      }
      tmpfs.remount("rw");
      tmpfs.free();
      const healed = await turn();
      expect(eventsOf(healed.events, "error")).toEqual([]);
      expect(eventsOf(healed.events, "turnStarted")[0]?.resumed).toBe(true);
    },
  );
});

describe("lost threads through the plugin", () => {
  it("starts a new thread in the same turn when codex no longer knows the stored one, and says so", async () => {
    const harness = await startHarness({
      script: [textReply("first thread"), textReply("fresh thread")],
    });
    const first = await harness.turn({ agentId: "lost", prompt: "hello" });
    const oldId = first.end.threadId;
    // The thread's rollouts disappear (a wiped CODEX_HOME, a pruned sessions dir).
    await rm(join(harness.codexHome, "sessions"), { recursive: true, force: true });
    const second = await harness.turn({ agentId: "lost", prompt: "hello again" });
    const lost = eventsOf(second.events, "threadLost");
    expect(lost).toHaveLength(1);
    expect(lost[0]).toMatchObject({ threadId: oldId, action: "started_new_thread" });
    expect(lost[0]?.reason).toContain("no rollout found for thread id");
    expect(second.end).toMatchObject({
      outcome: TurnEnd_Outcome.COMPLETED,
      finalText: "fresh thread",
    });
    expect(second.end.threadId).not.toBe(oldId);
    expect((await harness.threadRecord("lost")).thread_id).toBe(second.end.threadId);
  });
});

describe("started and cancelled in a loop", () => {
  it("leaves no process, fd or memory growth behind (9 turns; `npm run soak` runs 1,000)", async () => {
    const m = marker();
    // A warm app-server stays for its idle time by design; here it must go soon after the loop.
    const harness = await startHarness({
      script: cancelLoopScript(m),
      config: { timeouts: { app_server_idle_seconds: 0.5 } },
    });
    const result = await runCancelLoop(harness, 9, m);
    expect(result.orphans).toEqual([]);
    expect(result.after.descendants).toBe(0);
    expect(result.after.fds).toBeLessThanOrEqual(result.before.fds + 2);
    expect(Object.keys(result.outcomes).sort()).toEqual(["CANCELLED", "DROPPED"]);
  });

  it("runs with glibc's malloc arenas capped, which keeps RSS flat over thousands of turns", async () => {
    const harness = await startHarness({ skipConfigure: true });
    const environ = readFileSync(`/proc/${harness.plugin.process.pid}/environ`, "utf8");
    // Set by the executable's launcher (scripts/launcher.mjs); glibc reads it at process start.
    expect(environ.split("\0")).toContain("MALLOC_ARENA_MAX=2");
    expect(harness.stderrLines.join("\n")).not.toContain("MALLOC_ARENA_MAX is not set");

    // Started as `node <file>`, it says what it is missing.
    const { MALLOC_ARENA_MAX: _inherited, ...env } = process.env;
    const socketDir = await mkdtemp(join(tmpdir(), "plexum-bare-"));
    cleanups.push(() => rm(socketDir, { recursive: true, force: true }));
    const bare = spawn(process.execPath, [PLUGIN_PATH], {
      env: {
        ...env,
        [PLEXUM_HANDSHAKE.cookieKey]: PLEXUM_HANDSHAKE.cookieValue,
        PLUGIN_PROTOCOL_VERSIONS: "1",
        PLUGIN_UNIX_SOCKET_DIR: socketDir,
      },
      stdio: ["ignore", "ignore", "pipe"],
    });
    cleanups.push(async () => bare.kill("SIGKILL"));
    const lines = createInterface({ input: bare.stderr as NodeJS.ReadableStream });
    let warning: string | undefined;
    for await (const line of lines) {
      if (line.includes("MALLOC_ARENA_MAX is not set")) {
        warning = line;
        break;
      }
    }
    expect(JSON.parse(warning ?? "{}")).toMatchObject({ "@level": "warn" });
    bare.kill("SIGTERM");
  });
});
