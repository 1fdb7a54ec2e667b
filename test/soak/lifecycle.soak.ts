// `npm run soak`: the long loops of the lifecycle suite, with their figures printed as JSON.
//   SOAK_CANCEL_ITERATIONS (default 1000): turns started and cancelled through the built plugin.
//   SOAK_CRASH_ITERATIONS (default 1000): thread-store writers SIGKILLed mid-write.
//   SOAK_REAP_ITERATIONS (default 25): plugins SIGKILLed mid-turn, reaped by the next instance.
import { mkdir } from "node:fs/promises";
import { join } from "node:path";

import { afterAll, describe, expect, it } from "vitest";

import { textReply } from "../../internal/mock-model/reply-builders.js";
import { PluginHarness } from "../helpers/plugin-harness.js";
import { createTempDirs } from "../helpers/temp-dirs.js";
import { cancelLoopScript, runCancelLoop } from "./cancel-loop.js";
import { findProcesses, waitUntil } from "./process-stats.js";
import { buildThreadWriter, runThreadStoreCrashLoop } from "./thread-store-crash.js";

const count = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const report = (name: string, figures: unknown) =>
  process.stdout.write(`SOAK ${name} ${JSON.stringify(figures)}\n`);

describe("soak", () => {
  const temp = createTempDirs();
  afterAll(() => temp.removeAll());

  it("starts and cancels turns in a loop without fd, process or memory growth", async () => {
    const iterations = count("SOAK_CANCEL_ITERATIONS", 1000);
    const marker = String(100_000 + Math.floor(Math.random() * 800_000));
    const harness = await PluginHarness.start({
      script: cancelLoopScript(marker),
      env: { PLEXUM_LOG_LEVEL: "info" },
    });
    try {
      const result = await runCancelLoop(harness, iterations, marker, (done, partial) =>
        report("cancel-progress", { done, ...partial }),
      );
      report("cancel-loop", result);
      expect(result.orphans).toEqual([]);
      expect(result.after.descendants).toBe(0);
      expect(result.after.fds).toBeLessThanOrEqual(result.before.fds + 2);
      // Without MALLOC_ARENA_MAX the default glibc arenas grew RSS by 36 MB over 600 cycles.
      expect(result.after.rssKiB - result.before.rssKiB).toBeLessThan(16 * 1024);
    } finally {
      await harness.close();
    }
  });

  it("keeps every thread file whole while writers are SIGKILLed in a loop", async () => {
    const writer = await buildThreadWriter(await temp.make("soak-writer"));
    const result = await runThreadStoreCrashLoop({
      stateDir: await temp.make("soak-crash"),
      writer,
      iterations: count("SOAK_CRASH_ITERATIONS", 1000),
      onProgress: (done, partial) =>
        report("crash-progress", { done, lost: partial.lost, corrupt: partial.corrupt }),
    });
    report("thread-store-crash", result);
    expect(result.failures).toEqual([]);
    expect(result.lost + result.corrupt + result.staleTempsAfter).toBe(0);
  });

  it("reaps what each SIGKILLed plugin left when the next one starts", async () => {
    const iterations = count("SOAK_REAP_ITERATIONS", 25);
    const root = await temp.make("soak-reap");
    let leftoversBeforeReap = 0;
    let orphansAfterReap = 0;
    let previous: PluginHarness | undefined;
    const marker = String(100_000 + Math.floor(Math.random() * 800_000));
    // One state dir and CODEX_HOME for every plugin instance, as under a daemon.
    const shared = { state_dir: join(root, "state"), codex_home: join(root, "codex-home") };
    await mkdir(shared.codex_home);
    for (let index = 0; index < iterations; index += 1) {
      const harness = await PluginHarness.start({
        script: cancelLoopScript(marker),
        config: shared,
        env: { PLEXUM_LOG_LEVEL: "info" },
      });
      const mine = (argv: string[], cwd: string) =>
        (argv[0] === "sleep" && argv[1] === marker) || cwd === previous?.workspace;
      // Configure ran the reaper for the shared state dir.
      const found = await findProcesses(mine);
      orphansAfterReap += found.length;
      await previous?.close();
      void harness.turn({ agentId: "reap", prompt: "long" }).catch(() => undefined);
      await waitUntil("the command to run", async () =>
        (await findProcesses((argv) => argv[0] === "sleep" && argv[1] === marker)).length > 0
          ? true
          : undefined,
      );
      process.kill(harness.plugin.process.pid as number, "SIGKILL");
      await harness.plugin.exited;
      leftoversBeforeReap += (
        await findProcesses(
          (argv, cwd) => (argv[0] === "sleep" && argv[1] === marker) || cwd === harness.workspace,
        )
      ).length;
      previous = harness;
    }
    // One more start reaps the last one.
    const last = await PluginHarness.start({ script: [textReply("unused")], config: shared });
    orphansAfterReap += (
      await findProcesses(
        (argv, cwd) => (argv[0] === "sleep" && argv[1] === marker) || cwd === previous?.workspace,
      )
    ).length;
    await previous?.close();
    await last.close();
    report("boot-reaper", { iterations, leftoversBeforeReap, orphansAfterReap });
    expect(leftoversBeforeReap).toBeGreaterThanOrEqual(iterations);
    expect(orphansAfterReap).toBe(0);
  });
});
