// Lifecycle bounds, lost threads, state-dir failures and process accounting of runTurn, against
// the fake codex executables in test/fixtures/bin.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";

import { afterEach, describe, expect, it } from "vitest";

import { parseAgentId } from "../../../../internal/core/agent-id.js";
import type { CanonicalEvent } from "../../../../internal/core/canonical-event.js";
import { LEDGER_DIR_NAME, ProcessLedger } from "../../../../internal/proc/process-ledger.js";
import { THREAD_FILE } from "../../../../internal/store/thread-store.js";
import { isAlive, readFakeCalls, waitFor, writeFakeControl } from "../../../helpers/fake-codex.js";
import { TinyTmpfs, tmpfsAvailable } from "../../../helpers/tiny-tmpfs.js";
import { runTurn } from "../../../helpers/turn-fixture.js";
import { only, turnEnd, useTurnFixture } from "../../../helpers/turn-fixture.js";

const UNKNOWN_THREAD = "0199a213-81c0-7800-8aa1-bbab2a0359ff";
const ZERO = {
  input_tokens: 0,
  cached_input_tokens: 0,
  cache_write_input_tokens: 0,
  output_tokens: 0,
  reasoning_output_tokens: 0,
};

describe("runTurn lifecycle", () => {
  const fx = useTurnFixture();
  const { deps, request, run } = fx;

  describe("watchdogs", () => {
    it("fails an endless Reconnecting loop with TURN_IDLE_TIMEOUT: retry notices are not progress", async () => {
      const startedAt = Date.now();
      const events = await run(
        await deps("fake-codex-reconnecting.mjs", { timeouts: { idle_seconds: 1 } }),
      );
      const end = turnEnd(events);
      expect(only(events, "notice").filter((n) => n.notice === "retrying").length).toBeGreaterThan(
        3,
      );
      expect(end).toMatchObject({
        outcome: "failed",
        exitCode: 1,
        // Class network (issue 5: an unreachable provider ends at a time limit), code the limit's.
        error: { class: "network", code: "TURN_IDLE_TIMEOUT", retryable: true },
      });
      expect(end.message).toContain("no progress for 1 s");
      expect(end.message).toContain("Reconnecting... waiting for network");
      expect(only(events, "error").map((event) => event.error.code)).toEqual(["TURN_IDLE_TIMEOUT"]);
      expect(Date.now() - startedAt).toBeLessThan(4000);
    });

    it("fails a codex that prints nothing with TURN_FIRST_EVENT_TIMEOUT", async () => {
      const events = await run(
        await deps("fake-codex-silent.mjs", {
          timeouts: { first_event_seconds: 0.5, idle_seconds: 60 },
        }),
      );
      expect(events.map((event) => event.kind)).toEqual(["error", "turn_end"]);
      expect(turnEnd(events)).toMatchObject({
        outcome: "failed",
        exitCode: 1,
        error: { class: "timeout", code: "TURN_FIRST_EVENT_TIMEOUT" },
      });
    });

    it("escalates to SIGKILL when the silent codex ignores SIGINT and SIGTERM", async () => {
      await writeFakeControl(fx.codexHome, { ignoreSignals: true });
      const events = await run(
        await deps("fake-codex-silent.mjs", { timeouts: { first_event_seconds: 0.3 } }),
      );
      const end = turnEnd(events);
      expect(end).toMatchObject({
        outcome: "failed",
        signal: "SIGKILL",
        error: { code: "TURN_FIRST_EVENT_TIMEOUT" },
      });
      const { self } = JSON.parse(readFileSync(join(fx.codexHome, "fake-pids.json"), "utf8")) as {
        self: number;
      };
      expect(isAlive(self)).toBe(false);
    });

    it("fires the idle bound on a codex that hangs after its first events, killing its grandchildren", async () => {
      await writeFakeControl(fx.codexHome, { ignoreTerm: true });
      const events = await run(
        await deps("fake-codex-hang.mjs", { timeouts: { idle_seconds: 0.5 } }),
      );
      expect(only(events, "text").map((event) => event.text)).toEqual(["hanging"]);
      expect(turnEnd(events)).toMatchObject({
        outcome: "failed",
        signal: "SIGKILL",
        error: { code: "TURN_IDLE_TIMEOUT" },
      });
      const pids = JSON.parse(readFileSync(join(fx.codexHome, "fake-pids.json"), "utf8")) as Record<
        string,
        number
      >;
      expect(await waitFor(() => Object.values(pids).every((pid) => !isAlive(pid)), 3000)).toBe(
        true,
      );
    });

    it("takes per-turn bounds over the config: 0 switches the idle bound off", async () => {
      const turnDeps = await deps("fake-codex-reconnecting.mjs", {
        timeouts: { idle_seconds: 0.3 },
      });
      const events = await run(
        turnDeps,
        request({ options: { idleTimeoutMs: 0, turnTimeoutMs: 1500 } }),
      );
      expect(turnEnd(events).error?.code).toBe("TURN_TIMEOUT");
      const silent = await run(
        await deps("fake-codex-silent.mjs"),
        request({ options: { firstEventTimeoutMs: 300 } }),
      );
      expect(turnEnd(silent).error?.code).toBe("TURN_FIRST_EVENT_TIMEOUT");
    });

    it("does not count the time the consumer holds an event as codex's silence", async () => {
      const turnDeps = await deps("fake-codex.mjs", { timeouts: { idle_seconds: 0.3 } });
      const events: CanonicalEvent[] = [];
      for await (const event of runTurn(request(), turnDeps, new AbortController().signal)) {
        events.push(event);
        // A slow host: 0.5 s per event, longer than the idle bound.
        if (event.kind !== "turn_end") await new Promise((done) => setTimeout(done, 500));
      }
      expect(turnEnd(events).outcome).toBe("completed");
    });
  });

  describe("lost threads", () => {
    it("goes on in a new thread by default when codex has no rollout for the stored thread", async () => {
      await fx.store.save(parseAgentId("alice"), {
        thread_id: UNKNOWN_THREAD,
        usage_baseline: ZERO,
        confirmed: true,
      });
      const events = await run(await deps());
      const kinds = events.map((event) => event.kind);
      expect(kinds.indexOf("thread_lost")).toBeLessThan(kinds.indexOf("turn_started"));
      expect(only(events, "thread_lost")).toEqual([
        {
          kind: "thread_lost",
          threadId: UNKNOWN_THREAD,
          reason: `thread/resume: thread/resume failed: no rollout found for thread id ${UNKNOWN_THREAD} (code -32600)`,
          action: "started_new_thread",
        },
      ]);
      const started = only(events, "turn_started")[0];
      expect(started).toMatchObject({ resumed: false });
      expect(started?.threadId).not.toBe(UNKNOWN_THREAD);
      expect(turnEnd(events)).toMatchObject({ outcome: "completed", threadId: started?.threadId });
      expect(only(events, "error")).toEqual([]);
      const calls = readFakeCalls(fx.codexHome);
      expect(calls.map((call) => call.args.includes("resume"))).toEqual([true, false]);
      expect(calls[1]?.prompt).toBe("hello codex");
      expect(await fx.store.load(parseAgentId("alice"))).toMatchObject({
        record: { thread_id: started?.threadId, confirmed: true },
      });
    });

    it("fails the turn when codex silently starts another thread (policy fail), forwarding none of it", async () => {
      const turnDeps = await deps("fake-codex.mjs", { thread_lost_policy: "fail" });
      const first = await run(turnDeps);
      const oldId = only(first, "turn_started")[0]?.threadId ?? "";
      await writeFakeControl(fx.codexHome, { resumeAsNewThread: true, delayMs: 0 });
      const second = await run(turnDeps);
      expect(only(second, "thread_lost")).toMatchObject([{ threadId: oldId, action: "failed" }]);
      expect(only(second, "turn_started")).toEqual([]);
      expect(only(second, "text")).toEqual([]);
      expect(turnEnd(second)).toMatchObject({
        outcome: "failed",
        error: { code: "THREAD_NOT_FOUND", retryable: true },
      });
      // Neither the lost id nor the unasked-for new thread is kept.
      expect(await fx.store.load(parseAgentId("alice"))).toEqual({ status: "none" });
    });

    it("never leaves the id of a thread whose first turn died before codex wrote a rollout", async () => {
      const events = await run(await deps("fake-codex-crash.mjs"));
      expect(turnEnd(events)).toMatchObject({
        outcome: "crashed",
        threadId: "0199a213-81c0-7800-8aa1-bbab2a035a53",
      });
      expect(await fx.store.load(parseAgentId("alice"))).toEqual({ status: "none" });
    });
  });

  describe("process accounting", () => {
    it("records codex and its descendants while the turn runs and removes the record after", async () => {
      const turnDeps = {
        ...(await deps(
          "fake-codex-hang.mjs",
          { timeouts: { idle_seconds: 3 } },
          { ledger: new ProcessLedger(fx.stateDir) },
        )),
      };
      const ledgerDir = join(fx.stateDir, LEDGER_DIR_NAME);
      const controller = new AbortController();
      const events: CanonicalEvent[] = [];
      let recordDuringTurn:
        { process: { pid: number }; descendants: { pid: number }[] } | undefined;
      for await (const event of runTurn(request(), turnDeps, controller.signal)) {
        events.push(event);
        if (event.kind === "text") {
          const pids = JSON.parse(readFileSync(join(fx.codexHome, "fake-pids.json"), "utf8")) as {
            self: number;
            stubborn: number;
            session: number;
          };
          // The descendant scan runs every second.
          expect(
            await waitFor(() => {
              const names = readdirSync(ledgerDir).filter((name) => name.endsWith(".json"));
              if (names.length !== 1) return false;
              recordDuringTurn = JSON.parse(
                readFileSync(join(ledgerDir, names[0] as string), "utf8"),
              ) as typeof recordDuringTurn;
              const seen = recordDuringTurn?.descendants.map((entry) => entry.pid) ?? [];
              return seen.includes(pids.stubborn) && seen.includes(pids.session);
            }, 3000),
          ).toBe(true);
          expect(recordDuringTurn?.process.pid).toBe(pids.self);
          controller.abort("cancelled");
        }
      }
      expect(turnEnd(events).outcome).toBe("cancelled");
      expect(await waitFor(() => readdirSync(ledgerDir).length === 0, 3000)).toBe(true);
    });
  });

  describe("state dir failures", () => {
    it("fails with THREAD_STORE_FAILED when the thread state cannot be read, spawning nothing", async () => {
      // `agents` is a file, so the agent directory cannot exist.
      await writeFile(join(fx.stateDir, "agents"), "not a directory");
      const events = await run(await deps());
      expect(turnEnd(events)).toMatchObject({
        outcome: "failed",
        error: { code: "THREAD_STORE_FAILED" },
      });
      expect(readFakeCalls(fx.codexHome)).toEqual([]);
    });

    describe.runIf(tmpfsAvailable())("on a tiny tmpfs", () => {
      let tmpfs: TinyTmpfs | undefined;
      afterEach(() => {
        tmpfs?.unmount();
        tmpfs = undefined;
      });

      it("reports a full state dir (ENOSPC) as a typed error, completes the turn and keeps the old thread file whole", async () => {
        tmpfs = TinyTmpfs.mount(64);
        fx.useStateDir(tmpfs.dir);
        const first = await run(await deps());
        expect(turnEnd(first).outcome).toBe("completed");
        const path = join(fx.store.agentDir(parseAgentId("alice")), THREAD_FILE);
        const before = readFileSync(path, "utf8");

        tmpfs.fill();
        const second = await run(await deps());
        expect(turnEnd(second).outcome).toBe("completed");
        const errors = only(second, "error").map((event) => event.error);
        expect(errors).toHaveLength(1);
        expect(errors[0]).toMatchObject({ class: "internal", code: "THREAD_STORE_FAILED" });
        expect(errors[0]?.message).toContain("ENOSPC");
        expect(readFileSync(path, "utf8")).toBe(before);
        expect(readdirSync(fx.store.agentDir(parseAgentId("alice")))).toEqual([THREAD_FILE]);

        // Space again: the next turn resumes the thread and stores its state.
        tmpfs.free();
        const third = await run(await deps());
        expect(only(third, "turn_started")[0]?.resumed).toBe(true);
        expect(only(third, "error")).toEqual([]);
      });

      it("runs turns with a read-only state dir, says the state could not be saved, and changes nothing", async () => {
        tmpfs = TinyTmpfs.mount(256);
        fx.useStateDir(tmpfs.dir);
        expect(turnEnd(await run(await deps())).outcome).toBe("completed");
        const path = join(fx.store.agentDir(parseAgentId("alice")), THREAD_FILE);
        const before = readFileSync(path, "utf8");
        // A stale temp file the read-only mount will not let the store remove.
        await mkdir(fx.store.agentDir(parseAgentId("alice")), { recursive: true });
        await writeFile(`${path}.123`, "{");
        tmpfs.remount("ro");
        const events = await run(await deps());
        expect(turnEnd(events).outcome).toBe("completed");
        expect(only(events, "turn_started")[0]?.resumed).toBe(true);
        expect(only(events, "error").map((event) => event.error.code)).toEqual([
          "THREAD_STORE_FAILED",
        ]);
        expect(only(events, "error")[0]?.error.message).toContain("EROFS");
        expect(readFileSync(path, "utf8")).toBe(before);
        expect(existsSync(`${path}.123`)).toBe(true);
        tmpfs.remount("rw");
      });
    });
  });
});
