import { existsSync } from "node:fs";
import { mkdir, readdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";

import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { parseAgentId } from "../../../../internal/core/agent-id.js";
import { isAppError } from "../../../../internal/core/app-error.js";
import { emptyUsage } from "../../../../internal/core/usage.js";
import { THREAD_FILE, ThreadStore } from "../../../../internal/store/thread-store.js";
import { createTempDirs } from "../../../helpers/temp-dirs.js";

const THREAD = "0199a213-81c0-7800-8aa1-bbab2a035a53";

describe("ThreadStore", () => {
  const temp = createTempDirs();
  let stateDir: string;
  let store: ThreadStore;

  beforeEach(async () => {
    stateDir = await temp.make("state");
    store = new ThreadStore(stateDir);
  });
  afterEach(async () => {
    await temp.removeAll();
  });

  it("reports no record for a new agent", async () => {
    expect(await store.load(parseAgentId("alice"))).toEqual({ status: "none" });
  });

  it("round-trips a record under agents/<dir>/thread.json with private permissions", async () => {
    const baseline = { ...emptyUsage(), input_tokens: 10, output_tokens: 4 };
    const saved = await store.save(parseAgentId("alice"), {
      thread_id: THREAD,
      usage_baseline: baseline,
      confirmed: true,
    });
    const loaded = await store.load(parseAgentId("alice"));
    expect(loaded).toEqual({ status: "ok", record: saved });
    expect(saved.agent_id).toBe("alice");
    expect(Number.isNaN(Date.parse(saved.updated_at))).toBe(false);

    const dir = store.agentDir(parseAgentId("alice"));
    expect(dir.startsWith(join(stateDir, "agents"))).toBe(true);
    expect((await stat(join(dir, THREAD_FILE))).mode & 0o777).toBe(0o600);
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
  });

  it("keeps separate records per agent", async () => {
    await store.save(parseAgentId("alice"), {
      thread_id: "t-a",
      usage_baseline: emptyUsage(),
      confirmed: true,
    });
    await store.save(parseAgentId("bob"), {
      thread_id: "t-b",
      usage_baseline: emptyUsage(),
      confirmed: false,
    });
    expect(await store.load(parseAgentId("alice"))).toMatchObject({
      record: { thread_id: "t-a", confirmed: true },
    });
    expect(await store.load(parseAgentId("bob"))).toMatchObject({
      record: { thread_id: "t-b", confirmed: false },
    });
  });

  it("reports a corrupt file without touching it, and can move it aside", async () => {
    const dir = store.agentDir(parseAgentId("alice"));
    await mkdir(dir, { recursive: true });
    const path = join(dir, THREAD_FILE);
    await writeFile(path, '{"thread_id": "t", "usage_bas');
    const loaded = await store.load(parseAgentId("alice"));
    expect(loaded).toMatchObject({
      status: "corrupt",
      path,
      reason: expect.stringContaining("not valid JSON"),
    });
    expect(await readFile(path, "utf8")).toBe('{"thread_id": "t", "usage_bas');

    await writeFile(path, JSON.stringify({ thread_id: "t", confirmed: "yes" }));
    expect(await store.load(parseAgentId("alice"))).toMatchObject({
      status: "corrupt",
      reason: expect.stringContaining("usage_baseline"),
    });

    const movedTo = await store.quarantineCorrupt(parseAgentId("alice"));
    expect(movedTo).toMatch(/thread\.json\.corrupt-/);
    expect(existsSync(path)).toBe(false);
    expect(await readFile(movedTo ?? "", "utf8")).toContain('"confirmed":"yes"');
  });

  it("removes stale temp files left by a crash mid-write and keeps the real file", async () => {
    await store.save(parseAgentId("alice"), {
      thread_id: THREAD,
      usage_baseline: emptyUsage(),
      confirmed: true,
    });
    const dir = store.agentDir(parseAgentId("alice"));
    // What a crash between write and rename leaves: write-file-atomic's `<file>.<n>` or `.tmp`.
    await writeFile(join(dir, `${THREAD_FILE}.123456789`), "{half");
    await writeFile(join(dir, `${THREAD_FILE}.tmp`), "");
    await writeFile(join(dir, "notes.txt"), "keep me");
    expect(await store.load(parseAgentId("alice"))).toMatchObject({
      status: "ok",
      record: { thread_id: THREAD },
    });
    expect((await readdir(dir)).sort()).toEqual(["notes.txt", THREAD_FILE]);
  });

  it("removes usage.json's crash-left temp files too, at start-up only", async () => {
    await store.save(parseAgentId("alice"), {
      thread_id: THREAD,
      usage_baseline: emptyUsage(),
      confirmed: true,
    });
    const dir = store.agentDir(parseAgentId("alice"));
    await writeFile(join(dir, "usage.json"), "{}");
    await writeFile(join(dir, "usage.json.42"), "{half");
    // A load leaves it: a usage write of this process may be in flight.
    await store.load(parseAgentId("alice"));
    expect((await readdir(dir)).sort()).toEqual([THREAD_FILE, "usage.json", "usage.json.42"]);
    await writeFile(join(dir, `${THREAD_FILE}.7`), "{half");
    expect(await store.cleanStaleTemps()).toBe(2);
    expect((await readdir(dir)).sort()).toEqual([THREAD_FILE, "usage.json"]);
  });

  it("serialises concurrent saves: the last one wins and the file is always whole", async () => {
    const saves = Array.from({ length: 25 }, (_, index) =>
      store.save(parseAgentId("alice"), {
        thread_id: `t-${index}`,
        usage_baseline: { ...emptyUsage(), input_tokens: index },
        confirmed: index % 2 === 0,
      }),
    );
    await Promise.all(saves);
    const loaded = await store.load(parseAgentId("alice"));
    expect(loaded).toMatchObject({
      status: "ok",
      record: { thread_id: "t-24", usage_baseline: { input_tokens: 24 } },
    });
    expect(
      (await readdir(store.agentDir(parseAgentId("alice")))).filter((name) => name !== THREAD_FILE),
    ).toEqual([]);
  });

  it("reset returns the previous thread id and forgets it", async () => {
    expect(await store.reset(parseAgentId("alice"))).toBeUndefined();
    await store.save(parseAgentId("alice"), {
      thread_id: THREAD,
      usage_baseline: emptyUsage(),
      confirmed: true,
    });
    expect(await store.reset(parseAgentId("alice"))).toBe(THREAD);
    expect(await store.load(parseAgentId("alice"))).toEqual({ status: "none" });
  });

  it("takes only validated agent ids: invalid ones are refused before touching the disk", async () => {
    for (const agentId of ["", "../escape", "a/b", "x\u0000y"]) {
      const error = await Promise.resolve()
        .then(() => store.load(parseAgentId(agentId)))
        .then(
          () => undefined,
          (caught: unknown) => caught,
        );
      expect(isAppError(error) && error.code).toBe("AGENT_ID_INVALID");
      // @ts-expect-error the store takes an AgentId, which only parseAgentId makes.
      void (() => store.load(agentId));
    }
    expect(existsSync(join(stateDir, "agents"))).toBe(false);
  });
});
