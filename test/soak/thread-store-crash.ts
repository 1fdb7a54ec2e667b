// SIGKILLs a process in a loop while it writes thread ids (thread-writer.ts), then checks every
// thread file: it must hold either the id it held before the write that was cut short or the new
// one, never nothing, a truncated file or garbage. Stale temp files must be gone after the next
// start's cleanup. Used by a unit test (a few dozen iterations) and `npm run soak` (1,000+).
import { spawn } from "node:child_process";
import { readdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";

import { build } from "esbuild";

import { parseAgentId } from "../../internal/core/agent-id.js";
import { THREAD_FILE, ThreadStore } from "../../internal/store/thread-store.js";

export interface CrashLoopResult {
  iterations: number;
  agents: number;
  /** Iterations in which at least one save was in flight when the writer was killed. */
  killedMidWrite: number;
  /** Saves that completed, over all iterations. */
  savesCompleted: number;
  /** Thread files checked (agents × iterations). */
  filesChecked: number;
  /** A thread file that vanished after it had held an id. */
  lost: number;
  /** A thread file that did not parse, or held an id that was neither the old nor the new one. */
  corrupt: number;
  /** Most temp files seen at once after a kill; they prove writes were really cut short. */
  staleTempsSeen: number;
  /** Temp files removed by the cleanup a plugin runs at start-up. */
  staleTempsCleaned: number;
  /** Temp files left after that cleanup (must be 0). */
  staleTempsAfter: number;
  failures: string[];
  durationMs: number;
}

/** Bundles the writer into `dir` (esbuild), so a plain `node` can run it. */
export async function buildThreadWriter(dir: string): Promise<string> {
  const outfile = join(dir, "thread-writer.cjs");
  // CommonJS, like the plugin's own bundle: the dependencies (write-file-atomic) use __filename.
  await build({
    entryPoints: [new URL("./thread-writer.ts", import.meta.url).pathname],
    outfile,
    bundle: true,
    platform: "node",
    target: "node20",
    format: "cjs",
    logLevel: "warning",
  });
  return outfile;
}

export async function runThreadStoreCrashLoop(options: {
  stateDir: string;
  writer: string;
  iterations: number;
  agents?: number;
  onProgress?: (done: number, result: CrashLoopResult) => void;
}): Promise<CrashLoopResult> {
  const agents = options.agents ?? 4;
  const store = new ThreadStore(options.stateDir);
  const result: CrashLoopResult = {
    iterations: 0,
    agents,
    killedMidWrite: 0,
    savesCompleted: 0,
    filesChecked: 0,
    lost: 0,
    corrupt: 0,
    staleTempsSeen: 0,
    staleTempsCleaned: 0,
    staleTempsAfter: 0,
    failures: [],
    durationMs: 0,
  };
  const startedAt = performance.now();
  // What each agent's file held after the previous iteration ("" = no file yet).
  const held: string[] = Array.from({ length: agents }, () => "");
  const intentLog = join(options.stateDir, "intents.log");

  for (let iteration = 1; iteration <= options.iterations; iteration += 1) {
    await writeFile(intentLog, "");
    const died = await runAndKill(options.writer, [
      options.stateDir,
      String(agents),
      intentLog,
      String(iteration),
    ]);
    if (died !== "SIGKILL")
      result.failures.push(`iteration ${iteration}: the writer died by ${died}`);
    const log = (await readFile(intentLog, "utf8")).split("\n").filter(Boolean);
    result.savesCompleted += log.filter((line) => line.endsWith("done")).length;
    const last = log.at(-1);
    if (last !== undefined && !last.endsWith("done")) result.killedMidWrite += 1;

    for (let agent = 0; agent < agents; agent += 1) {
      result.filesChecked += 1;
      // The newest intent and the one before: the file holds one of them, or the old value when
      // no save of this agent started in this iteration.
      const intents = log
        .filter((line) => line.startsWith(`${agent} `) && !line.endsWith("done"))
        .map((line) => Number(line.split(" ")[1]));
      const newest = intents.at(-1);
      const allowed = new Set<string>();
      if (newest === undefined) allowed.add(held[agent] as string);
      else {
        allowed.add(`thread-${iteration}-${newest}`);
        allowed.add(newest === 1 ? (held[agent] as string) : `thread-${iteration}-${newest - 1}`);
      }
      const path = join(store.agentDir(parseAgentId(`agent-${agent}`)), THREAD_FILE);
      let text: string | undefined;
      try {
        text = await readFile(path, "utf8");
      } catch {
        text = undefined;
      }
      if (text === undefined) {
        if (!allowed.has("")) {
          result.lost += 1;
          result.failures.push(`iteration ${iteration}: ${path} is missing`);
        }
        continue;
      }
      let id: string | undefined;
      try {
        id = (JSON.parse(text) as { thread_id?: string }).thread_id;
      } catch {
        id = undefined;
      }
      if (id === undefined || !allowed.has(id)) {
        result.corrupt += 1;
        result.failures.push(
          `iteration ${iteration}: ${path} holds ${JSON.stringify(text.slice(0, 120))}, expected one of ${[...allowed].join(", ")}`,
        );
        continue;
      }
      held[agent] = id;
    }
    result.staleTempsSeen = Math.max(result.staleTempsSeen, await countTemps(options.stateDir));
    result.iterations = iteration;
    if (options.onProgress !== undefined && iteration % 100 === 0) {
      options.onProgress(iteration, result);
    }
  }

  // What a starting plugin does (provider-service #recover), then the files still load.
  const seenBefore = await countTemps(options.stateDir);
  result.staleTempsCleaned = await new ThreadStore(options.stateDir).cleanStaleTemps();
  result.staleTempsAfter = await countTemps(options.stateDir);
  if (result.staleTempsCleaned !== seenBefore) {
    result.failures.push(`cleanup removed ${result.staleTempsCleaned} of ${seenBefore} temp files`);
  }
  for (let agent = 0; agent < agents; agent += 1) {
    const loaded = await store.load(parseAgentId(`agent-${agent}`));
    if (held[agent] !== "" && (loaded.status !== "ok" || loaded.record.thread_id !== held[agent])) {
      result.failures.push(`agent-${agent} loads as ${JSON.stringify(loaded)}`);
    }
  }
  await rm(intentLog, { force: true });
  result.durationMs = Math.round(performance.now() - startedAt);
  return result;
}

// Starts the writer, waits for "ready", lets it write for 0–120 ms, then SIGKILLs it. Returns how it
// ended: "SIGKILL", or the exit code or signal when it died by itself.
async function runAndKill(writer: string, args: string[]): Promise<string> {
  const child = spawn(process.execPath, [writer, ...args], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const exited = new Promise<string>((resolve) =>
    child.once("exit", (code, signal) => resolve(signal ?? `exit code ${String(code)}`)),
  );
  await new Promise<void>((resolve) => {
    child.stdout.once("data", () => resolve());
    child.once("exit", () => resolve());
  });
  await new Promise((resolve) => setTimeout(resolve, Math.floor(Math.random() * 120)));
  child.kill("SIGKILL");
  return exited;
}

async function countTemps(stateDir: string): Promise<number> {
  const agentsDir = join(stateDir, "agents");
  let count = 0;
  for (const dir of await readdir(agentsDir).catch(() => [])) {
    for (const name of await readdir(join(agentsDir, dir)).catch(() => [])) {
      if (
        name !== THREAD_FILE &&
        name.startsWith(`${THREAD_FILE}.`) &&
        !name.includes(".corrupt-")
      ) {
        count += 1;
      }
    }
  }
  return count;
}
