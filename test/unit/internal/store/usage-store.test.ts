import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";

import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { agentDirName } from "../../../../internal/core/agent-id.js";
import { parseAgentId } from "../../../../internal/core/agent-id.js";
import type { RateLimitWindow } from "../../../../internal/core/rate-limits.js";
import { type Usage } from "../../../../internal/core/usage.js";
import { rateLimitsOf, UsageStore } from "../../../../internal/store/usage-store.js";
import { createTempDirs } from "../../../helpers/temp-dirs.js";

function usage(input: number, output: number, cached = 0, reasoning = 0): Usage {
  return {
    input_tokens: input,
    cached_input_tokens: cached,
    cache_write_input_tokens: 0,
    output_tokens: output,
    reasoning_output_tokens: reasoning,
  };
}

describe("UsageStore", () => {
  const temp = createTempDirs();
  let stateDir: string;

  beforeEach(async () => {
    stateDir = await temp.make("usage");
  });
  afterEach(() => temp.removeAll());

  it("starts at zero and sums per-turn increases of a thread's cumulative figure", async () => {
    const store = new UsageStore(stateDir);
    expect(await store.load(parseAgentId("alice"))).toMatchObject({ total: usage(0, 0), turns: 0 });
    expect((await store.recordTurn(parseAgentId("alice"), "t1", usage(10, 5, 2, 1))).added).toEqual(
      usage(10, 5, 2, 1),
    );
    expect((await store.recordTurn(parseAgentId("alice"), "t1", usage(25, 9, 2, 1))).added).toEqual(
      usage(15, 4),
    );
    expect(await store.load(parseAgentId("alice"))).toMatchObject({
      total: usage(25, 9, 2, 1),
      turns: 2,
    });
  });

  it("counts a figure recorded twice once (a retried save, a restart between writes)", async () => {
    const store = new UsageStore(stateDir);
    await store.recordTurn(parseAgentId("alice"), "t1", usage(10, 5));
    expect((await store.recordTurn(parseAgentId("alice"), "t1", usage(10, 5))).added).toEqual(
      usage(0, 0),
    );
    expect(await store.load(parseAgentId("alice"))).toMatchObject({
      total: usage(10, 5),
      turns: 1,
    });
  });

  it("counts a new thread from zero, and a thread whose total went down as new", async () => {
    const store = new UsageStore(stateDir);
    await store.recordTurn(parseAgentId("alice"), "t1", usage(100, 10));
    expect((await store.recordTurn(parseAgentId("alice"), "t2", usage(7, 3))).added).toEqual(
      usage(7, 3),
    );
    expect((await store.recordTurn(parseAgentId("alice"), "t2", usage(5, 4))).added).toEqual(
      usage(5, 4),
    );
    expect(await store.load(parseAgentId("alice"))).toMatchObject({
      total: usage(112, 17),
      turns: 3,
      counted_thread_id: "t2",
    });
  });

  it("persists across instances (a plugin restart) and keeps agents apart", async () => {
    await new UsageStore(stateDir).recordTurn(parseAgentId("alice"), "t1", usage(10, 5));
    await new UsageStore(stateDir).recordTurn(parseAgentId("bob"), "t9", usage(1, 1));
    const reopened = new UsageStore(stateDir);
    expect((await reopened.load(parseAgentId("alice"))).total).toEqual(usage(10, 5));
    expect((await reopened.load(parseAgentId("bob"))).total).toEqual(usage(1, 1));
  });

  it("serialises concurrent records of one agent", async () => {
    const store = new UsageStore(stateDir);
    await Promise.all([
      store.recordTurn(parseAgentId("alice"), "a", usage(1, 1)),
      store.recordTurn(parseAgentId("alice"), "b", usage(2, 2)),
      store.recordTurn(parseAgentId("alice"), "c", usage(3, 3)),
    ]);
    expect(await store.load(parseAgentId("alice"))).toMatchObject({ total: usage(6, 6), turns: 3 });
  });

  it("moves a corrupt file aside and starts again", async () => {
    const store = new UsageStore(stateDir);
    await store.recordTurn(parseAgentId("alice"), "t1", usage(1, 1));
    const dir = join(stateDir, "agents", agentDirName("alice"));
    await writeFile(join(dir, "usage.json"), "{broken");
    expect((await store.load(parseAgentId("alice"))).turns).toBe(0);
    expect((await readdir(dir)).some((name) => name.startsWith("usage.json.corrupt-"))).toBe(true);
  });

  describe("rate limits", () => {
    const alice = parseAgentId("alice");
    function window(
      kind: RateLimitWindow["kind"],
      usedPercent: number,
      observedAtMs: number,
    ): RateLimitWindow {
      return {
        limitId: "codex",
        limitName: "",
        kind,
        usedPercent,
        windowMinutes: kind === "primary" ? 300 : 10080,
        resetsAtMs: 4102444800_000,
        source: "rollout",
        observedAtMs,
        threadId: "t1",
      };
    }

    it("keeps the latest window per kind across instances (a plugin restart)", async () => {
      await new UsageStore(stateDir).recordRateLimits(alice, [
        window("primary", 10, 1000),
        window("secondary", 40, 1000),
      ]);
      await new UsageStore(stateDir).recordRateLimits(alice, [window("primary", 12, 2000)]);
      const record = await new UsageStore(stateDir).load(alice);
      expect(rateLimitsOf(record)).toEqual([
        window("primary", 12, 2000),
        window("secondary", 40, 1000),
      ]);
      // An agent that never saw any has none.
      expect(rateLimitsOf(await new UsageStore(stateDir).load(parseAgentId("bob")))).toEqual([]);
    });

    it("keeps the totals when storing windows, and the windows when counting a turn", async () => {
      const store = new UsageStore(stateDir);
      await store.recordTurn(alice, "t1", usage(10, 5));
      await store.recordRateLimits(alice, [window("primary", 10, 1000)]);
      await store.recordTurn(alice, "t1", usage(20, 6));
      const record = await store.load(alice);
      expect(record).toMatchObject({ total: usage(20, 6), turns: 2 });
      expect(rateLimitsOf(record)).toEqual([window("primary", 10, 1000)]);
    });

    it("drops a stored window it cannot read, and keeps the totals and the other windows", async () => {
      const store = new UsageStore(stateDir);
      await store.recordTurn(alice, "t1", usage(10, 5));
      await store.recordRateLimits(alice, [window("primary", 10, 1000)]);
      const path = join(stateDir, "agents", agentDirName("alice"), "usage.json");
      const stored = JSON.parse(await readFile(path, "utf8")) as { rate_limits: unknown[] };
      stored.rate_limits.push({ limit_id: "codex", kind: "tertiary" }, "junk");
      await writeFile(path, JSON.stringify(stored));
      const record = await store.load(alice);
      expect(record.total).toEqual(usage(10, 5));
      expect(rateLimitsOf(record)).toEqual([window("primary", 10, 1000)]);
    });

    it("leaves no temp file behind and writes the file whole", async () => {
      const store = new UsageStore(stateDir);
      await Promise.all([
        store.recordRateLimits(alice, [window("primary", 1, 1)]),
        store.recordRateLimits(alice, [window("secondary", 2, 2)]),
        store.recordTurn(alice, "t1", usage(1, 1)),
      ]);
      const dir = join(stateDir, "agents", agentDirName("alice"));
      expect(await readdir(dir)).toEqual(["usage.json"]);
      const record = await store.load(alice);
      expect(record.turns).toBe(1);
      expect(rateLimitsOf(record).map((w) => w.kind)).toEqual(["primary", "secondary"]);
    });
  });
});
