// /proc readings for leak checks: a process's open fds, RSS and live descendants, and processes
// anywhere on the machine that match a predicate (orphans re-parented away from the plugin).
import { readdir, readFile, readlink } from "node:fs/promises";

import { collectDescendants, readProcessTable } from "../../internal/proc/process-tree.js";

export interface ProcessStats {
  fds: number;
  rssKiB: number;
  /** Live descendants (zombies excluded). */
  descendants: number;
}

export async function processStats(pid: number): Promise<ProcessStats> {
  const fds = (await readdir(`/proc/${pid}/fd`)).length;
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  const rssKiB = Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? Number.NaN);
  const descendants = collectDescendants(pid, await readProcessTable()).length;
  return { fds, rssKiB, descendants };
}

/** Pids of every live process whose argv or cwd matches. */
export async function findProcesses(
  match: (argv: string[], cwd: string) => boolean,
): Promise<number[]> {
  const found: number[] = [];
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = await readFile(`/proc/${entry}/stat`, "utf8");
      if (stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z")) continue;
      const argv = (await readFile(`/proc/${entry}/cmdline`, "utf8")).split("\0").filter(Boolean);
      const cwd = await readlink(`/proc/${entry}/cwd`).catch(() => "");
      if (match(argv, cwd)) found.push(Number(entry));
    } catch {
      // Exited while we looked.
    }
  }
  return found;
}

/** Polls `probe` every 50 ms until it returns a value other than undefined, or throws. */
export async function waitUntil<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (performance.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
