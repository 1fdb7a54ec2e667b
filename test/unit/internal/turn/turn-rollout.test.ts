import { appendFile, writeFile } from "node:fs/promises";

import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import { parseAgentId } from "../../../../internal/core/agent-id.js";
import { type CanonicalEvent } from "../../../../internal/core/canonical-event.js";
import { emptyUsage } from "../../../../internal/core/usage.js";
import { ThreadStore } from "../../../../internal/store/thread-store.js";
import { rateLimitsOf, UsageStore } from "../../../../internal/store/usage-store.js";
import { DriftReport } from "../../../../internal/turn/drift-report.js";
import { TurnRollout } from "../../../../internal/turn/turn-rollout.js";
import { silentLogger } from "../../../helpers/fake-codex.js";
import { createTempDirs } from "../../../helpers/temp-dirs.js";
import {
  FIXTURE_THREAD,
  fixtureClock,
  installFixture,
  rolloutName,
  sessionDir,
} from "../rollout/rollout-fixtures.js";

const temp = createTempDirs();
let home: string;
let store: ThreadStore;
let usage: UsageStore;
const AGENT = parseAgentId("turn-rollout-agent");

beforeEach(async () => {
  home = await temp.make("codex-home");
  const stateDir = await temp.make("state");
  store = new ThreadStore(stateDir);
  usage = new UsageStore(stateDir);
  await store.save(AGENT, {
    thread_id: FIXTURE_THREAD,
    usage_baseline: emptyUsage(),
    confirmed: true,
  });
});
afterEach(() => temp.removeAll());

function rollout(): TurnRollout {
  return new TurnRollout({
    codexHome: home,
    store,
    usage,
    agentId: AGENT,
    logger: silentLogger,
    clock: fixtureClock(),
    drift: new DriftReport("0.169.0"),
  });
}

async function collect(events: AsyncIterable<CanonicalEvent>): Promise<CanonicalEvent[]> {
  const all: CanonicalEvent[] = [];
  for await (const event of events) all.push(event);
  return all;
}

const kinds = (events: CanonicalEvent[]) => events.map((event) => event.kind);

describe("TurnRollout", () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  // Polls with the clock at `ms`.
  const pollAt = (turn: TurnRollout, ms: number) => {
    vi.spyOn(performance, "now").mockReturnValue(ms);
    return collect(turn.poll());
  };

  it("mirrors a new thread while it runs and stores the cursor at the end", async () => {
    const turn = rollout();
    turn.threadStarted(FIXTURE_THREAD);
    // Not written yet: quiet.
    expect(await pollAt(turn, 1000)).toEqual([]);
    const path = await installFixture(home, "basic.jsonl");
    expect(kinds(await pollAt(turn, 1100))).toContain("tool_call");
    vi.restoreAllMocks();
    expect(await collect(turn.finish(true))).toEqual([]);
    const loaded = await store.load(AGENT);
    expect(loaded.status === "ok" && loaded.record.rollout?.path).toBe(path);

    // The next turn resumes at the stored cursor.
    await appendFile(
      path,
      '{"ordinal":20,"type":"response_item","payload":{"type":"function_call","name":"x","arguments":"{}","call_id":"call_2"}}\n',
    );
    const next = rollout();
    if (loaded.status !== "ok") throw new Error("no record");
    await next.prepareResume(loaded.record);
    next.threadStarted(FIXTURE_THREAD);
    const events = await collect(next.finish(true));
    expect(events).toEqual([
      {
        kind: "tool_call",
        callId: "call_2",
        name: "x",
        namespace: "",
        arguments: "{}",
        callKind: "function_call",
      },
    ]);
  });

  it("searches for a rollout not written yet less and less often, then reads it on every poll", async () => {
    const turn = rollout();
    turn.threadStarted(FIXTURE_THREAD);
    expect(await pollAt(turn, 1000)).toEqual([]);
    await installFixture(home, "basic.jsonl");
    // Searched at 1000 ms: the next search is due at 1025, then 50 ms after that search.
    expect(await pollAt(turn, 1024)).toEqual([]);
    expect(kinds(await pollAt(turn, 1025))).toContain("tool_call");
    await appendFile(
      `${sessionDir(home)}/${rolloutName(FIXTURE_THREAD)}`,
      '{"ordinal":20,"type":"response_item","payload":{"type":"function_call","name":"x","arguments":"{}","call_id":"call_2"}}\n',
    );
    // Found: read at once, whatever the clock says.
    expect(kinds(await pollAt(turn, 1026))).toEqual(["tool_call"]);

    // Misses at 0, 25, 75, 175, 375, 775 and 1175 ms: the delay doubles up to 400 ms.
    const late = "01a200b8-0000-7000-8000-0000000000aa";
    const slow = rollout();
    slow.threadStarted(late);
    for (const at of [0, 25, 75, 175, 375, 775, 1175]) expect(await pollAt(slow, at)).toEqual([]);
    await installFixture(home, "basic.jsonl", late);
    expect(await pollAt(slow, 1574)).toEqual([]);
    expect(kinds(await pollAt(slow, 1575))).toContain("tool_call");
  });

  it("reports rollout lines without an ordinal as drift, once per turn", async () => {
    const turn = rollout();
    turn.threadStarted(FIXTURE_THREAD);
    const path = await installFixture(home, "basic.jsonl");
    const unnumbered =
      '{"timestamp":"t","type":"response_item","payload":{"type":"function_call","name":"x","arguments":"{}","call_id":"call_old_1"}}';
    await appendFile(path, `${unnumbered}\n${unnumbered.replace("call_old_1", "call_old_2")}\n`);
    const first = await collect(turn.poll());
    await appendFile(path, `${unnumbered.replace("call_old_1", "call_old_3")}\n`);
    const second = await collect(turn.finish(true));
    const drift = [...first, ...second].filter(
      (event) => event.kind === "notice" && event.code === "CODEX_SCHEMA_DRIFT",
    );
    expect(drift).toEqual([
      expect.objectContaining({
        message: expect.stringContaining("wrote rollout lines without an ordinal") as unknown,
      }),
    ]);
    expect(kinds(second)).toEqual(["tool_call"]);
  });

  it("reports a missing rollout as a typed error only when codex must have written one", async () => {
    const quiet = rollout();
    quiet.threadStarted(FIXTURE_THREAD);
    expect(await collect(quiet.finish(false))).toEqual([]);

    const loud = rollout();
    loud.threadStarted(FIXTURE_THREAD);
    const [event] = await collect(loud.finish(true));
    expect(event).toMatchObject({
      kind: "error",
      error: { class: "internal", code: "ROLLOUT_NOT_FOUND", retryable: false },
    });
  });

  it("turns an unreadable rollout into a ROLLOUT_CORRUPT error event, never a throw", async () => {
    const turn = rollout();
    turn.threadStarted(FIXTURE_THREAD);
    await installFixture(home, "basic.jsonl.zst");
    await writeFile(
      `${sessionDir(home)}/${rolloutName(FIXTURE_THREAD, undefined, ".jsonl.zst")}`,
      "definitely not zstd",
    );
    expect(await collect(turn.poll())).toEqual([]);
    const events = await collect(turn.finish(true));
    expect(events).toEqual([
      expect.objectContaining({
        kind: "error",
        error: expect.objectContaining({ code: "ROLLOUT_CORRUPT" }) as unknown,
      }),
    ]);
  });

  it("mirrors a different thread than the one prepared from its start", async () => {
    const other = "01a200b8-0000-7000-8000-0000000000ff";
    await installFixture(home, "basic.jsonl", other);
    const turn = rollout();
    const loaded = await store.load(AGENT);
    if (loaded.status !== "ok") throw new Error("no record");
    await turn.prepareResume(loaded.record);
    // codex started another thread instead.
    turn.threadStarted(other);
    const events = await collect(turn.finish(true));
    expect(kinds(events).filter((kind) => kind === "tool_call")).toHaveLength(6);
  });

  // codex's token_count line (0.169.0): usage of the last request, the window, the rate limits.
  function tokenCount(ordinal: number, total: number, primary: number, secondary?: number): string {
    const window = (used: number, minutes: number) => ({
      used_percent: used,
      window_minutes: minutes,
      resets_at: 4102444800,
    });
    return JSON.stringify({
      timestamp: `2026-12-03T15:46:${String(ordinal).padStart(2, "0")}.000Z`,
      ordinal,
      type: "event_msg",
      payload: {
        type: "token_count",
        info: {
          total_token_usage: { total_tokens: total * 2 },
          last_token_usage: { total_tokens: total },
          model_context_window: 100_000,
        },
        rate_limits: {
          limit_id: "codex",
          limit_name: null,
          primary: window(primary, 300),
          secondary: secondary === undefined ? null : window(secondary, 10080),
        },
      },
    });
  }

  it("keeps the last context-window fill and stores the latest rate limits at the end", async () => {
    const turn = rollout();
    turn.threadStarted(FIXTURE_THREAD);
    const path = await installFixture(home, "basic.jsonl");
    await appendFile(path, `${tokenCount(20, 5000, 10, 40)}\n`);
    await collect(turn.poll());
    expect(turn.contextWindow).toMatchObject({ tokensInContext: 5000, fill: 0.05 });
    // Nothing is stored before codex exits.
    expect(rateLimitsOf(await usage.load(AGENT))).toEqual([]);
    await appendFile(path, `${tokenCount(21, 6000, 12)}\n`);
    expect(kinds(await collect(turn.finish(true)))).toEqual([]);
    expect(turn.contextWindow).toEqual({
      tokensInContext: 6000,
      modelContextWindow: 100_000,
      fill: 0.06,
      percentLeft: 100,
    });
    const stored = rateLimitsOf(await usage.load(AGENT));
    // The secondary window was not in the last snapshot: its earlier observation stays.
    expect(
      stored.map((w) => [w.kind, w.usedPercent, new Date(w.observedAtMs).toISOString()]),
    ).toEqual([
      ["primary", 12, "2026-12-03T15:46:21.000Z"],
      ["secondary", 40, "2026-12-03T15:46:20.000Z"],
    ]);
    expect(stored[0]).toMatchObject({ source: "rollout", threadId: FIXTURE_THREAD });
  });

  it("reports a token count of an unknown shape as drift once, and goes on", async () => {
    const turn = rollout();
    turn.threadStarted(FIXTURE_THREAD);
    const path = await installFixture(home, "basic.jsonl");
    const odd = (ordinal: number) =>
      JSON.stringify({
        ordinal,
        type: "event_msg",
        payload: { type: "token_count", info: { last_token_usage: 5 }, rate_limits: "soon" },
      });
    await appendFile(path, `${odd(20)}\n${odd(21)}\n${tokenCount(22, 700, 3)}\n`);
    const events = await collect(turn.finish(true));
    const drift = events.filter(
      (event) => event.kind === "notice" && event.code === "CODEX_SCHEMA_DRIFT",
    );
    expect(drift).toEqual([
      expect.objectContaining({
        message: expect.stringContaining("token counts or rate limits") as unknown,
      }),
    ]);
    expect(turn.contextWindow?.tokensInContext).toBe(700);
    expect(rateLimitsOf(await usage.load(AGENT)).map((w) => w.usedPercent)).toEqual([3]);
  });

  it("has no context-window fill when codex recorded no token count", async () => {
    const turn = rollout();
    turn.threadStarted(FIXTURE_THREAD);
    await installFixture(home, "basic.jsonl");
    await collect(turn.finish(true));
    expect(turn.contextWindow).toBeUndefined();
    expect((await usage.load(AGENT)).rate_limits).toBeUndefined();
  });
});
