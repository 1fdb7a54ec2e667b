import { appendFile, writeFile } from "node:fs/promises";

import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import { parseAgentId } from "../../../../internal/core/agent-id.js";
import { type CanonicalEvent } from "../../../../internal/core/canonical-event.js";
import { emptyUsage } from "../../../../internal/core/usage.js";
import { ThreadStore } from "../../../../internal/store/thread-store.js";
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
const AGENT = parseAgentId("turn-rollout-agent");

beforeEach(async () => {
  home = await temp.make("codex-home");
  store = new ThreadStore(await temp.make("state"));
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
});
