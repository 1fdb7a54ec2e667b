import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";

import { afterEach, describe, expect, it } from "vitest";

import { parseAgentId } from "../../../../internal/core/agent-id.js";
import { emptyUsage } from "../../../../internal/core/usage.js";
import {
  type RolloutCursor,
  THREAD_FILE,
  ThreadStore,
} from "../../../../internal/store/thread-store.js";
import { createTempDirs } from "../../../helpers/temp-dirs.js";

const temp = createTempDirs();
afterEach(() => temp.removeAll());

const CURSOR: RolloutCursor = {
  path: "/h/sessions/r.jsonl",
  offset: 1234,
  tail: "AAEC",
  last_ordinal: 7,
};

async function store(): Promise<ThreadStore> {
  return new ThreadStore(await temp.make("state"));
}

function record(threadId: string) {
  return { thread_id: threadId, usage_baseline: emptyUsage(), confirmed: true };
}

describe("ThreadStore rollout cursor", () => {
  it("stores the cursor with the thread and reads it back", async () => {
    const threads = await store();
    await threads.save(parseAgentId("a"), record("t1"));
    expect(await threads.saveRolloutCursor(parseAgentId("a"), "t1", CURSOR)).toBe(true);
    const loaded = await threads.load(parseAgentId("a"));
    expect(loaded.status === "ok" && loaded.record.rollout).toEqual(CURSOR);
  });

  it("keeps the cursor across saves of the same thread and drops it for a new thread", async () => {
    const threads = await store();
    await threads.save(parseAgentId("a"), record("t1"));
    await threads.saveRolloutCursor(parseAgentId("a"), "t1", CURSOR);
    await threads.save(parseAgentId("a"), { ...record("t1"), confirmed: false });
    let loaded = await threads.load(parseAgentId("a"));
    expect(loaded.status === "ok" && loaded.record.rollout).toEqual(CURSOR);
    await threads.save(parseAgentId("a"), record("t2"));
    loaded = await threads.load(parseAgentId("a"));
    expect(loaded.status === "ok" && loaded.record.rollout).toBeUndefined();
  });

  it("refuses a cursor for a thread that is not the agent's", async () => {
    const threads = await store();
    expect(await threads.saveRolloutCursor(parseAgentId("a"), "t1", CURSOR)).toBe(false);
    await threads.save(parseAgentId("a"), record("t1"));
    expect(await threads.saveRolloutCursor(parseAgentId("a"), "t9", CURSOR)).toBe(false);
    const loaded = await threads.load(parseAgentId("a"));
    expect(loaded.status === "ok" && loaded.record.rollout).toBeUndefined();
  });

  it("treats a malformed cursor as a corrupt record", async () => {
    const threads = await store();
    await threads.save(parseAgentId("a"), record("t1"));
    const path = join(threads.agentDir(parseAgentId("a")), THREAD_FILE);
    const json = JSON.parse(await readFile(path, "utf8")) as Record<string, unknown>;
    await writeFile(path, JSON.stringify({ ...json, rollout: { path: "", offset: -1 } }));
    expect((await threads.load(parseAgentId("a"))).status).toBe("corrupt");
  });
});
