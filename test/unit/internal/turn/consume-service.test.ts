import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";

import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { type AgentId, parseAgentId } from "../../../../internal/core/agent-id.js";
import { isAppError } from "../../../../internal/core/app-error.js";
import { emptyUsage } from "../../../../internal/core/usage.js";
import type { ConsumeResult } from "../../../../internal/rollout/consume-thread.js";
import { RolloutMirror } from "../../../../internal/rollout/rollout-mirror.js";
import { writerLockPath } from "../../../../internal/rollout/writer-lock.js";
import { ThreadStore } from "../../../../internal/store/thread-store.js";
import { AgentSlots } from "../../../../internal/turn/agent-slots.js";
import { ConsumeService } from "../../../../internal/turn/consume-service.js";
import { silentLogger } from "../../../helpers/fake-codex.js";
import { createTempDirs } from "../../../helpers/temp-dirs.js";
import {
  FIXTURE_THREAD,
  fixtureClock,
  fixturePlace,
  installFixture,
} from "../rollout/rollout-fixtures.js";

const temp = createTempDirs();
let deps: { store: ThreadStore; codexHome: string; slots: AgentSlots; service: ConsumeService };
let path: string;
const agent: AgentId = parseAgentId("consume-agent");

beforeEach(async () => {
  const home = await temp.make("codex-home");
  const store = new ThreadStore(await temp.make("state"));
  const slots = new AgentSlots();
  deps = {
    store,
    codexHome: home,
    slots,
    service: new ConsumeService({ slots, store, logger: silentLogger, clock: fixtureClock() }),
  };
  path = await installFixture(home, "basic.jsonl");
});

function consumeBlocks(
  agentId: AgentId,
  blockIds: readonly string[],
  on: typeof deps,
): Promise<ConsumeResult> {
  return on.service.consume(agentId, on.codexHome, blockIds);
}
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

describe("ConsumeService", () => {
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
    const turn = deps.slots.beginTurn(agent);
    try {
      expect(await codeOf(consumeBlocks(agent, ["call_sh_1"], deps))).toBe("AGENT_BUSY");
    } finally {
      turn.release();
    }
    expect((await consumeBlocks(agent, ["call_sh_1"], deps)).rewritten).toEqual(["call_sh_1"]);
  });

  it("makes a turn that starts meanwhile wait for the rewrite to finish", async () => {
    await storeThread(false);
    const before = await readFile(path, "utf8");
    const consuming = consumeBlocks(agent, ["call_sh_1"], deps);
    const turn = deps.slots.beginTurn(agent);
    await turn.ready();
    // The turn may start only once the rewrite is on disk.
    const whenReady = await readFile(path, "utf8");
    turn.release();
    expect((await consuming).rewritten).toEqual(["call_sh_1"]);
    expect(whenReady).not.toBe(before);
    expect(whenReady).toBe(await readFile(path, "utf8"));
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
