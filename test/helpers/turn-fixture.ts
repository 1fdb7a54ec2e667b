// What the turn tests share: fresh state dir, CODEX_HOME and workspace per test, a ThreadStore,
// engine options around a fake codex from test/fixtures/bin (the exec backend), one set of agent
// slots and processes as the provider has, and no process group left afterwards.
import { afterEach, beforeEach, expect } from "vitest";

import { resolveCodexBinary } from "../../internal/codex/binary.js";
import { CodexVersionProbes } from "../../internal/codex/version-probe.js";
import { parseConfig } from "../../internal/config/load-config.js";
import { parseAgentId } from "../../internal/core/agent-id.js";
import type { CanonicalEvent } from "../../internal/core/canonical-event.js";
import { systemClock } from "../../internal/core/clock.js";
import { ExecBackend } from "../../internal/exec/exec-backend.js";
import type { ProcessLedger } from "../../internal/proc/process-ledger.js";
import { ProcessRegistry } from "../../internal/proc/process-registry.js";
import { ProcessScanner } from "../../internal/proc/process-scanner.js";
import { ThreadStore } from "../../internal/store/thread-store.js";
import { AgentSlots } from "../../internal/turn/agent-slots.js";
import { TurnEngine, type TurnEngineOptions } from "../../internal/turn/turn-engine.js";
import type { TurnRequest } from "../../internal/turn/turn-request.js";
import { collect, fakeCodex, silentLogger } from "./fake-codex.js";
import { createTempDirs } from "./temp-dirs.js";

/** One turn through a new engine with `options`, one event at a time; a refused turn throws. */
export async function* runTurn(
  request: TurnRequest,
  options: TurnEngineOptions,
  signal?: AbortSignal,
): AsyncGenerator<CanonicalEvent, void, undefined> {
  const turn = await new TurnEngine(options).startTurn(request, signal);
  for await (const batch of turn.events) yield* batch;
}

type Kind = CanonicalEvent["kind"];
export type EventOf<K extends Kind> = Extract<CanonicalEvent, { kind: K }>;

export function only<K extends Kind>(events: CanonicalEvent[], kind: K): EventOf<K>[] {
  return events.filter((event): event is EventOf<K> => event.kind === kind);
}

/** The one turn_end, which must be the last event. */
export function turnEnd(events: CanonicalEvent[]): EventOf<"turn_end"> {
  const ends = only(events, "turn_end");
  expect(ends).toHaveLength(1);
  expect(events.at(-1)).toBe(ends[0]);
  return ends[0] as EventOf<"turn_end">;
}

export interface TurnFixture {
  stateDir: string;
  codexHome: string;
  workspace: string;
  store: ThreadStore;
  /** Moves the state dir (and the store) elsewhere, e.g. onto a tiny tmpfs. */
  useStateDir(dir: string): void;
  /** Every live process of the test's turns. */
  processes: ProcessRegistry;
  /**
   * Engine options for the fake codex `fake`; `config` goes over the defaults, timeouts merged;
   * `ledger` records the fake's processes.
   */
  deps(
    fake?: string,
    config?: Record<string, unknown>,
    extra?: { ledger?: ProcessLedger },
  ): Promise<TurnEngineOptions>;
  /** A request for agent "alice" in the workspace. */
  request(overrides?: Partial<TurnRequest>): TurnRequest;
  /** Every event of one turn. */
  run(
    deps: TurnEngineOptions,
    request?: TurnRequest,
    signal?: AbortSignal,
  ): Promise<CanonicalEvent[]>;
}

/** Registers the per-test set-up and tear-down; call inside a describe block. */
export function useTurnFixture(): TurnFixture {
  const temp = createTempDirs();
  const slots = new AgentSlots();
  const scanner = new ProcessScanner();
  const fixture: TurnFixture = {
    processes: new ProcessRegistry(),
    stateDir: "",
    codexHome: "",
    workspace: "",
    store: new ThreadStore("/nonexistent"),
    useStateDir(dir) {
      fixture.stateDir = dir;
      fixture.store = new ThreadStore(dir);
    },
    async deps(fake = "fake-codex.mjs", config = {}, extra = {}) {
      const { timeouts, ...rest } = config as { timeouts?: Record<string, unknown> };
      const { config: parsed } = parseConfig({
        binary: fakeCodex(fake),
        state_dir: fixture.stateDir,
        codex_home: fixture.codexHome,
        timeouts: { interrupt_grace_seconds: 0.3, terminate_grace_seconds: 0.3, ...timeouts },
        ...rest,
      });
      const binary = await resolveCodexBinary({
        binary: parsed.binary,
        versionProbeMs: 10_000,
        probes: new CodexVersionProbes(fixture.processes),
      });
      expect(binary.ready).toBe(true);
      const env = { ...process.env, RUST_BACKTRACE: "1" };
      return {
        config: parsed,
        binary: () => Promise.resolve(binary),
        backend: new ExecBackend({
          env,
          extraArgs: parsed.extraArgs,
          interruptGraceMs: parsed.timeouts.interruptGraceMs,
          terminateGraceMs: parsed.timeouts.terminateGraceMs,
          processes: fixture.processes,
          scanner,
          ledger: extra.ledger,
        }),
        slots,
        store: fixture.store,
        logger: silentLogger,
        env,
        clock: systemClock,
        processes: fixture.processes,
        checkAuth: false,
      };
    },
    request(overrides = {}) {
      return {
        agentId: parseAgentId("alice"),
        workspace: fixture.workspace,
        model: "",
        prompt: "hello codex",
        options: {},
        ...overrides,
      };
    },
    run(deps, request = fixture.request(), signal = new AbortController().signal) {
      return collect(runTurn(request, deps, signal));
    },
  };
  beforeEach(async () => {
    fixture.useStateDir(await temp.make("state"));
    fixture.codexHome = await temp.make("codex-home");
    fixture.workspace = await temp.make("workspace");
  });
  afterEach(async () => {
    await fixture.processes.killAll();
    await temp.removeAll();
  });
  return fixture;
}
