// The processes a long-lived parent (codex app-server) started during one of its turns: its
// descendants whose start time is after the turn began, optionally only those working under a
// directory (when other turns share the parent). Killed as groups, SIGTERM then SIGKILL, each only
// while it is still the same process (start time checked), so a recycled pid is never signalled.
import { readFileSync } from "node:fs";
import { readlink } from "node:fs/promises";
import { sep } from "node:path";

import {
  collectDescendants,
  isSameProcess,
  type ProcessInfo,
  readProcessTable,
  signalIfSame,
} from "./process-tree.js";

// USER_HZ: the unit of /proc/<pid>/stat's start time; 100 on every Linux ABI Node runs on.
const TICKS_PER_SECOND = 100;

/** Now, in clock ticks since boot (the unit of ProcessInfo.startTime); undefined without /proc. */
export function ticksSinceBoot(): number | undefined {
  try {
    const uptime = Number(readFileSync("/proc/uptime", "utf8").split(" ")[0]);
    return Number.isFinite(uptime) ? Math.floor(uptime * TICKS_PER_SECOND) : undefined;
  } catch {
    return undefined;
  }
}

/** Descendants of `rootPid` started at or after `sinceTicks` (and working under `dir`, if given). */
export async function descendantsStartedSince(
  rootPid: number,
  sinceTicks: number,
  dir?: string | undefined,
): Promise<ProcessInfo[]> {
  const found = collectDescendants(rootPid, await readProcessTable()).filter(
    (info) => Number(info.startTime) >= sinceTicks,
  );
  if (dir === undefined) return found;
  const kept: ProcessInfo[] = [];
  for (const info of found) {
    const cwd = await readlink(`/proc/${info.pid}/cwd`).catch(() => undefined);
    if (cwd !== undefined && (cwd === dir || cwd.startsWith(dir + sep))) kept.push(info);
  }
  return kept;
}

/** SIGTERM to each, SIGKILL to what is left after `graceMs`; resolves when done. */
export async function killProcesses(infos: readonly ProcessInfo[], graceMs: number): Promise<void> {
  if (infos.length === 0) return;
  const sent = await Promise.all(infos.map((info) => signalIfSame(info, "SIGTERM")));
  if (!sent.some(Boolean)) return;
  const deadline = Date.now() + graceMs;
  for (;;) {
    const alive = await Promise.all(infos.map((info) => isSameProcess(info)));
    if (!alive.some(Boolean) || Date.now() >= deadline) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await Promise.all(infos.map((info) => signalIfSame(info, "SIGKILL")));
}
