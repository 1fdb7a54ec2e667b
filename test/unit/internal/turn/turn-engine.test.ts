// The turn engine around a scripted backend (no codex): what it makes of codex output it does not
// understand, and of the host's own mistakes on a turn's stream.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { codexFeatures } from "../../../../internal/codex/codex-capabilities.js";
import { parseConfig } from "../../../../internal/config/load-config.js";
import { parseAgentId } from "../../../../internal/core/agent-id.js";
import type { CanonicalEvent } from "../../../../internal/core/canonical-event.js";
import { systemClock } from "../../../../internal/core/clock.js";
import { emptyUsage } from "../../../../internal/core/usage.js";
import { PluginSocketClient } from "../../../../internal/mcp/socket-client.js";
import { agentSocketPath } from "../../../../internal/mcp/socket-path.js";
import { ProcessRegistry } from "../../../../internal/proc/process-registry.js";
import { ThreadStore } from "../../../../internal/store/thread-store.js";
import { AgentSlots } from "../../../../internal/turn/agent-slots.js";
import type {
  BackendEvent,
  BackendExit,
  CodexBackend,
  WarmThreads,
} from "../../../../internal/turn/codex-backend.js";
import { type ActiveTurn, TurnEngine } from "../../../../internal/turn/turn-engine.js";
import type { TurnRequest } from "../../../../internal/turn/turn-request.js";
import { silentLogger } from "../../../helpers/fake-codex.js";

const THREAD = "0199a213-81c0-7800-8aa1-bbab2a035a60";
const AGENT = parseAgentId("engine-agent");

/** A backend that plays one script of batches, each after `gate` (if any) has settled. */
function scripted(
  batches: BackendEvent[][],
  exit: Partial<BackendExit> = {},
  gate?: Promise<unknown>,
): CodexBackend {
  return {
    name: "scripted",
    keepsThreadsLoaded: false,
    start: (_run, signal) => {
      let done!: () => void;
      const finished = new Promise<void>((resolve) => {
        done = resolve;
      });
      signal.addEventListener("abort", () => done(), { once: true });
      return {
        batches: (async function* () {
          try {
            for (const [index, events] of batches.entries()) {
              if (index === batches.length - 1 && gate !== undefined) {
                await Promise.race([gate, finished]);
              }
              if (signal.aborted) return;
              yield { events, caughtUp: true };
            }
          } finally {
            done();
          }
        })(),
        exit: finished.then(() => ({
          exitCode: signal.aborted ? undefined : 0,
          signal: signal.aborted ? "SIGINT" : undefined,
          stderrTail: "",
          spawnError: undefined,
          durationMs: 1,
          fatalMessage: undefined,
          retryMessage: undefined,
          ...exit,
        })),
      };
    },
  };
}

let root: string;
let store: ThreadStore;
const processes = new ProcessRegistry();

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "plexum-engine-"));
  store = new ThreadStore(join(root, "state"));
});
afterEach(async () => {
  await processes.killAll();
  await rm(root, { recursive: true, force: true });
});

function engine(backend: CodexBackend, warmThreads?: WarmThreads): TurnEngine {
  const { config } = parseConfig(
    { state_dir: join(root, "state"), codex_home: root },
    { env: {}, homeDir: root },
  );
  return new TurnEngine({
    config,
    logger: silentLogger,
    binary: () =>
      Promise.resolve({
        ready: true,
        path: "/fake/codex",
        source: "config",
        version: "0.169.0",
        degradedReason: "",
        features: codexFeatures("0.169.0"),
        notes: [],
      }),
    backend,
    slots: new AgentSlots(),
    store,
    clock: systemClock,
    env: {},
    processes,
    selfCommand: "/opt/plugin/plexum-openai-provider-plugin",
    checkAuth: false,
    warmThreads,
  });
}

function request(overrides: Partial<TurnRequest> = {}): TurnRequest {
  return { agentId: AGENT, workspace: root, model: "", prompt: "hi", options: {}, ...overrides };
}

async function collect(turn: ActiveTurn): Promise<CanonicalEvent[]> {
  const events: CanonicalEvent[] = [];
  for await (const batch of turn.events) events.push(...batch);
  return events;
}

const notices = (events: CanonicalEvent[], code: string) =>
  events.filter((event) => event.kind === "notice" && event.code === code);
const endOf = (events: CanonicalEvent[]) =>
  events.at(-1) as Extract<CanonicalEvent, { kind: "turn_end" }>;

describe("TurnEngine and codex output it does not understand", () => {
  it("reports drift once per kind per turn, naming the codex version and the line", async () => {
    const backend = scripted([
      [{ kind: "thread_started", threadId: THREAD }],
      [
        { kind: "drift", drift: "unknown_event_type", sample: '{"type":"turn.paused"}' },
        { kind: "drift", drift: "unknown_event_type", sample: '{"type":"turn.resumed"}' },
        { kind: "text", itemId: "item_0", text: "done" },
      ],
      [
        { kind: "turn_completed", usage: emptyUsage() },
        { kind: "drift", drift: "usage_fields_missing", sample: '{"usage":{}}' },
      ],
    ]);
    const events = await collect(await engine(backend).startTurn(request()));
    const drift = notices(events, "CODEX_SCHEMA_DRIFT");
    expect(drift).toHaveLength(2);
    expect(drift[0]).toMatchObject({
      notice: "warning",
      message: expect.stringContaining(
        'codex 0.169.0 printed an event type that this plugin does not understand; events may be missing or incomplete: {"type":"turn.paused"}',
      ) as unknown,
    });
    expect(drift[1]).toMatchObject({
      message: expect.stringContaining("usage without") as unknown,
    });
    expect(endOf(events)).toMatchObject({ outcome: "completed", finalText: "done" });
  });

  it("shortens the quoted line", async () => {
    const long = `{"type":"x","pad":"${"y".repeat(5000)}"}`;
    const backend = scripted([
      [{ kind: "thread_started", threadId: THREAD }],
      [{ kind: "drift", drift: "unknown_item_type", sample: long }],
      [{ kind: "turn_completed", usage: emptyUsage() }],
    ]);
    const events = await collect(await engine(backend).startTurn(request()));
    const [drift] = notices(events, "CODEX_SCHEMA_DRIFT");
    expect(drift?.kind === "notice" && drift.message.length).toBeLessThan(500);
  });

  it("refuses a thread id that is not a UUID: nothing stored, codex stopped, a typed error", async () => {
    const never = new Promise(() => undefined);
    const backend = scripted(
      [
        [{ kind: "thread_started", threadId: "../../etc/passwd" }],
        [{ kind: "text", itemId: "item_0", text: "should not arrive" }],
      ],
      {},
      never,
    );
    const events = await collect(await engine(backend).startTurn(request()));
    expect(events.map((event) => event.kind)).toEqual(["error", "turn_end"]);
    expect(endOf(events)).toMatchObject({
      outcome: "failed",
      threadId: "",
      error: { code: "CODEX_THREAD_ID_INVALID", class: "internal", retryable: false },
    });
    expect(await store.load(AGENT)).toEqual({ status: "none" });
  });

  it("fails a codex that exits 0 without a terminal event with CODEX_NO_TERMINAL_EVENT", async () => {
    const backend = scripted([
      [{ kind: "thread_started", threadId: THREAD }],
      [{ kind: "text", itemId: "item_0", text: "partial" }],
    ]);
    const events = await collect(await engine(backend).startTurn(request()));
    expect(endOf(events)).toMatchObject({
      outcome: "crashed",
      error: { code: "CODEX_NO_TERMINAL_EVENT", class: "internal" },
    });
  });

  it("ignores a stored thread id that is not a UUID, with a warning, and starts anew", async () => {
    await store.save(AGENT, {
      thread_id: "not-a-thread",
      usage_baseline: emptyUsage(),
      confirmed: true,
    });
    let resumed: string | undefined = "unset";
    const backend = scripted([
      [{ kind: "thread_started", threadId: THREAD }],
      [{ kind: "turn_completed", usage: emptyUsage() }],
    ]);
    const recording: CodexBackend = {
      name: "recording",
      keepsThreadsLoaded: false,
      start: (run, signal) => {
        resumed = run.resumeThreadId;
        return backend.start(run, signal);
      },
    };
    const events = await collect(await engine(recording).startTurn(request()));
    expect(resumed).toBeUndefined();
    expect(
      events.some((event) => event.kind === "notice" && event.message.includes("not-a-thread")),
    ).toBe(true);
    expect(endOf(events)).toMatchObject({ outcome: "completed", threadId: THREAD });
  });
});

describe("TurnEngine and threads held by warm codex processes", () => {
  it("frees a stored thread from them before a backend that keeps nothing loaded resumes it", async () => {
    await store.save(AGENT, { thread_id: THREAD, usage_baseline: emptyUsage(), confirmed: true });
    const order: string[] = [];
    const warm: WarmThreads = {
      releaseThread: (threadId) => {
        order.push(`release ${threadId}`);
        return Promise.resolve();
      },
    };
    const turn = (keepsThreadsLoaded: boolean): CodexBackend => {
      const inner = scripted([[{ kind: "turn_completed", usage: emptyUsage() }]]);
      return {
        name: "recording",
        keepsThreadsLoaded,
        start: (run, signal) => {
          order.push(`start ${run.resumeThreadId ?? "new"}`);
          return inner.start(run, signal);
        },
      };
    };
    const first = await collect(await engine(turn(false), warm).startTurn(request()));
    expect(endOf(first)).toMatchObject({ outcome: "completed" });
    expect(order).toEqual([`release ${THREAD}`, `start ${THREAD}`]);
    // A backend that keeps threads loaded frees them from its other processes itself.
    order.length = 0;
    await collect(await engine(turn(true), warm).startTurn(request()));
    expect(order).toEqual([`start ${THREAD}`]);
  });
});

describe("TurnEngine and the host's mistakes on a turn's stream", () => {
  it("answers an unknown tool_result and a second start with notices naming them", async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const backend = scripted(
      [
        [{ kind: "thread_started", threadId: THREAD }],
        [{ kind: "turn_completed", usage: emptyUsage() }],
      ],
      {},
      gate,
    );
    const turn = await engine(backend).startTurn(request());
    const collected = collect(turn);
    turn.answerHostTool("req-nope", { text: "x", isError: false, contentJson: "" });
    turn.repeatedStart();
    await sleep(20);
    release();
    const events = await collected;
    expect(notices(events, "HOST_TOOL_RESULT_UNKNOWN")).toEqual([
      expect.objectContaining({
        notice: "warning",
        message: expect.stringContaining('"req-nope"') as unknown,
      }),
    ]);
    expect(notices(events, "HOST_START_REPEATED")).toHaveLength(1);
    expect(endOf(events).outcome).toBe("completed");
  });

  it("reports a host tool call without codex's call id as drift, before the call", async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const backend = scripted(
      [
        [{ kind: "thread_started", threadId: THREAD }],
        [{ kind: "turn_completed", usage: emptyUsage() }],
      ],
      {},
      gate,
    );
    const turn = await engine(backend).startTurn(
      request({
        hostTools: [{ name: "lookup", description: "", inputSchema: { type: "object" } }],
      }),
    );
    const events: CanonicalEvent[] = [];
    const collected = (async () => {
      for await (const batch of turn.events) {
        events.push(...batch);
        const call = batch.find((event) => event.kind === "host_tool_call");
        if (call?.kind === "host_tool_call") {
          turn.answerHostTool(call.requestId, { text: "ok", isError: false, contentJson: "" });
        }
      }
    })();
    const client = new PluginSocketClient({
      socketPath: agentSocketPath(AGENT, { stateDir: join(root, "state") }),
      agentId: AGENT,
      logger: silentLogger,
    });
    await expect(client.callTool("lookup", {}, undefined)).resolves.toMatchObject({
      isError: false,
    });
    client.close();
    release();
    await collected;
    const kinds = events.map((event) =>
      event.kind === "notice" ? `notice:${event.code ?? ""}` : event.kind,
    );
    const call = kinds.indexOf("host_tool_call");
    expect(call).toBeGreaterThan(0);
    expect(kinds[call - 1]).toBe("notice:CODEX_SCHEMA_DRIFT");
    expect(notices(events, "CODEX_SCHEMA_DRIFT")[0]).toMatchObject({
      message: expect.stringContaining("without _meta.callId") as unknown,
    });
  });
});
