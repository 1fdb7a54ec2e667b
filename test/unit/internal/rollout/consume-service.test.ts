import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";

import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { claimAgentTurn } from "../../../../internal/turn/agent-slots.js";
import { emptyUsage } from "../../../../internal/core/canonical-event.js";
import { isAppError } from "../../../../internal/core/app-error.js";
import { consumeBlocks, type ConsumeDeps } from "../../../../internal/rollout/consume-service.js";
import { RolloutMirror } from "../../../../internal/rollout/rollout-mirror.js";
import { writerLockPath } from "../../../../internal/rollout/writer-lock.js";
import { ThreadStore } from "../../../../internal/store/thread-store.js";
import { silentLogger } from "../../../helpers/fake-codex.js";
import { createTempDirs } from "../../../helpers/temp-dirs.js";
import { FIXTURE_THREAD, fixtureClock, fixturePlace, installFixture } from "./rollout-fixtures.js";

const temp = createTempDirs();
let deps: ConsumeDeps;
let path: string;
let agent: string;
let agentCount = 0;

beforeEach(async () => {
  const home = await temp.make("codex-home");
  deps = {
    store: new ThreadStore(await temp.make("state")),
    codexHome: home,
    logger: silentLogger,
    clock: fixtureClock(),
  };
  path = await installFixture(home, "basic.jsonl");
  // Agent slots are process-wide: a fresh agent per test.
  agentCount += 1;
  agent = `consume-agent-${agentCount}`;
});
afterEach(() => temp.removeAll());

async function storeThread(withCursor: boolean): Promise<void> {
  await deps.store.save(agent, {
    thread_id: FIXTURE_THREAD,
    usage_baseline: emptyUsage(),
    confirmed: true,
  });
  if (!withCursor) return;
  const mirror = RolloutMirror.forNewThread(fixturePlace(deps.codexHome), FIXTURE_THREAD);
  await mirror.read(false);
  const cursor = mirror.cursor();
  if (cursor !== undefined) await deps.store.saveRolloutCursor(agent, FIXTURE_THREAD, cursor);
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  return isAppError(error) ? error.code : `not an AppError: ${String(error)}`;
}

describe("consumeBlocks", () => {
  it("reports every id as not found for an agent without a thread", async () => {
    expect(await consumeBlocks(agent, ["call_sh_1", "x"], deps)).toEqual({
      rewritten: [],
      alreadyConsumed: [],
      notFound: ["call_sh_1", "x"],
    });
  });

  it("rewrites the agent's rollout and moves the stored cursor with it", async () => {
    await storeThread(true);
    expect(await consumeBlocks(agent, ["call_sh_1", "call_nope"], deps)).toEqual({
      rewritten: ["call_sh_1"],
      alreadyConsumed: [],
      notFound: ["call_nope"],
    });
    const loaded = await deps.store.load(agent);
    const cursor = loaded.status === "ok" ? loaded.record.rollout : undefined;
    expect(cursor?.offset).toBe((await readFile(path)).length);
    // A mirror resuming from the moved cursor sees no change and nothing new.
    const mirror = await RolloutMirror.forResumedThread(
      fixturePlace(deps.codexHome),
      FIXTURE_THREAD,
      cursor,
    );
    expect(await mirror.read(false)).toEqual({ found: true, events: [] });
  });

  it("refuses with AGENT_BUSY while a turn of the agent runs", async () => {
    await storeThread(false);
    const claim = await claimAgentTurn(agent);
    try {
      expect(await codeOf(consumeBlocks(agent, ["call_sh_1"], deps))).toBe("AGENT_BUSY");
    } finally {
      claim?.release();
    }
    expect((await consumeBlocks(agent, ["call_sh_1"], deps)).rewritten).toEqual(["call_sh_1"]);
  });

  it("makes a turn that starts meanwhile wait for the rewrite to finish", async () => {
    await storeThread(false);
    const order: string[] = [];
    const consuming = consumeBlocks(agent, ["call_sh_1"], deps).then(() => order.push("consume"));
    const claim = await claimAgentTurn(agent);
    order.push("turn");
    claim?.release();
    await consuming;
    expect(claim).toBeDefined();
    expect(order).toEqual(["consume", "turn"]);
  });

  it("serialises concurrent consumes of one thread", async () => {
    await storeThread(true);
    const [first, second] = await Promise.all([
      consumeBlocks(agent, ["call_sh_1"], deps),
      consumeBlocks(agent, ["call_sh_1", "call_patch_1"], deps),
    ]);
    expect(first.rewritten).toEqual(["call_sh_1"]);
    expect(second).toEqual({
      rewritten: ["call_patch_1"],
      alreadyConsumed: ["call_sh_1"],
      notFound: [],
    });
  });

  it("fails with ROLLOUT_NOT_FOUND when the thread's rollout is gone", async () => {
    await storeThread(false);
    await rm(path);
    expect(await codeOf(consumeBlocks(agent, ["call_sh_1"], deps))).toBe("ROLLOUT_NOT_FOUND");
  });

  it.skipIf(!existsSync("/proc/locks") || !existsSync("/usr/bin/flock"))(
    "fails with ROLLOUT_LOCKED while another process holds codex's writer lock",
    async () => {
      await storeThread(false);
      const lockFile = writerLockPath(deps.codexHome, FIXTURE_THREAD);
      await mkdir(dirname(lockFile), { recursive: true });
      await writeFile(lockFile, "");
      const ready = join(deps.codexHome, "ready");
      const holder = spawn(
        "/usr/bin/flock",
        ["--exclusive", lockFile, "sh", "-c", `touch ${ready}; cat`],
        { stdio: ["pipe", "ignore", "ignore"] },
      );
      const bytes = await readFile(path);
      try {
        while (!existsSync(ready)) await new Promise((resolve) => setTimeout(resolve, 20));
        expect(await codeOf(consumeBlocks(agent, ["call_sh_1"], deps))).toBe("ROLLOUT_LOCKED");
        expect(await readFile(path)).toEqual(bytes);
      } finally {
        holder.stdin.end();
        await new Promise((resolve) => holder.once("exit", resolve));
      }
      expect((await consumeBlocks(agent, ["call_sh_1"], deps)).rewritten).toEqual(["call_sh_1"]);
    },
  );
});
