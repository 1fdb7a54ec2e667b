// What the runTurn tests share: fresh state dir, CODEX_HOME and workspace per test, a ThreadStore,
// TurnDeps around a fake codex from test/fixtures/bin, and no process group left afterwards.
import { afterEach, beforeEach, expect } from "vitest";

import { systemClock } from "../../internal/core/clock.js";
import { resolveCodexBinary } from "../../internal/codex/binary.js";
import type { CanonicalEvent } from "../../internal/core/canonical-event.js";
import type { TurnRequest } from "../../internal/turn/turn-request.js";
import { runTurn, type TurnDeps } from "../../internal/turn/turn-run.js";
import { parseConfig } from "../../internal/config/load-config.js";
import { killAllProcessGroups } from "../../internal/proc/process-registry.js";
import { ThreadStore } from "../../internal/store/thread-store.js";
import { collect, fakeCodex, silentLogger } from "./fake-codex.js";
import { createTempDirs } from "./temp-dirs.js";

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
  /** TurnDeps for the fake codex `fake`; `config` goes over the defaults, timeouts merged. */
  deps(fake?: string, config?: Record<string, unknown>): Promise<TurnDeps>;
  /** A request for agent "alice" in the workspace. */
  request(overrides?: Partial<TurnRequest>): TurnRequest;
  /** Every event of one turn. */
  run(deps: TurnDeps, request?: TurnRequest, signal?: AbortSignal): Promise<CanonicalEvent[]>;
}

/** Registers the per-test set-up and tear-down; call inside a describe block. */
export function useTurnFixture(): TurnFixture {
  const temp = createTempDirs();
  const fixture: TurnFixture = {
    stateDir: "",
    codexHome: "",
    workspace: "",
    store: new ThreadStore("/nonexistent"),
    useStateDir(dir) {
      fixture.stateDir = dir;
      fixture.store = new ThreadStore(dir);
    },
    async deps(fake = "fake-codex.mjs", config = {}) {
      const { timeouts, ...rest } = config as { timeouts?: Record<string, unknown> };
      const { config: parsed } = parseConfig({
        binary: fakeCodex(fake),
        state_dir: fixture.stateDir,
        codex_home: fixture.codexHome,
        timeouts: { interrupt_grace_seconds: 0.3, terminate_grace_seconds: 0.3, ...timeouts },
        ...rest,
      });
      const binary = await resolveCodexBinary({ binary: parsed.binary, versionProbeMs: 10_000 });
      expect(binary.ready).toBe(true);
      return {
        config: parsed,
        binary,
        store: fixture.store,
        logger: silentLogger,
        env: { ...process.env, RUST_BACKTRACE: "1" },
        clock: systemClock,
      };
    },
    request(overrides = {}) {
      return {
        agentId: "alice",
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
    await killAllProcessGroups();
    await temp.removeAll();
  });
  return fixture;
}
