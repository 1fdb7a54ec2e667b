// Everything the plugin reads about processes from /proc (Linux), and the one way it signals them.
// Codex starts shell commands in their own session, so killing codex's process group misses them,
// and once codex exits they are re-parented to init and cannot be found any more. Descendants are
// therefore recorded while codex is alive, with their start time, so a recycled pid is never
// signalled: a recorded process is signalled only while its start time still matches.
import { readFileSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";

export interface ProcessInfo {
  pid: number;
  ppid: number;
  pgid: number;
  /** Session id (field 6); set by parseStat. */
  sid?: number;
  /** Clock ticks since boot (/proc/<pid>/stat field 22): identifies this incarnation of the pid. */
  startTime: string;
}

const PROC = "/proc";

/** One process's stat line, or undefined when it is gone or /proc is unavailable. */
export async function readProcessInfo(pid: number): Promise<ProcessInfo | undefined> {
  let text: string;
  try {
    text = await readFile(`${PROC}/${pid}/stat`, "utf8");
  } catch {
    return undefined;
  }
  return parseStat(pid, text);
}

/** {@link readProcessInfo}, synchronously (process exit handlers, tiny reads in a batch). */
export function readProcessInfoSync(pid: number | "self"): ProcessInfo | undefined {
  let text: string;
  try {
    text = readFileSync(`${PROC}/${pid}/stat`, "utf8");
  } catch {
    return undefined;
  }
  return parseStat(pid === "self" ? process.pid : pid, text);
}

/** This boot's id: start times are only comparable within one boot. "" without /proc. */
export function readBootId(): string {
  try {
    return readFileSync(`${PROC}/sys/kernel/random/boot_id`, "utf8").trim();
  } catch {
    return "";
  }
}

/** The pids of all live processes; empty where /proc does not exist (macOS). */
export async function listPids(): Promise<number[]> {
  try {
    return (await readdir(PROC)).filter((name) => /^\d+$/.test(name)).map(Number);
  } catch {
    return [];
  }
}

/** A process's initial environment (NUL-separated), or undefined when it cannot be read. */
export function readEnvironSync(pid: number): Buffer | undefined {
  try {
    return readFileSync(`${PROC}/${pid}/environ`);
  } catch {
    return undefined;
  }
}

/** Sends `signal` to a pid or, negative, a process group; gone or foreign targets are ignored. */
export function trySignal(target: number, signal: NodeJS.Signals): void {
  try {
    process.kill(target, signal);
  } catch {
    // ESRCH: already gone. EPERM: not ours (a recycled pid). Neither needs handling.
  }
}

/** Signals `info.pid` only if it is still the same process (same start time); true if sent. */
export async function signalIfSame(info: ProcessInfo, signal: NodeJS.Signals): Promise<boolean> {
  if (!(await isSameProcess(info))) return false;
  trySignal(info.pid, signal);
  return true;
}

/** Parses /proc/<pid>/stat. The command name (field 2) may contain spaces and parentheses. */
export function parseStat(pid: number, text: string): ProcessInfo | undefined {
  const close = text.lastIndexOf(")");
  if (close === -1) return undefined;
  // After ") ": state(3) ppid(4) pgrp(5) session(6) … starttime(22).
  const fields = text.slice(close + 2).split(" ");
  const ppid = Number(fields[1]);
  const pgid = Number(fields[2]);
  const sid = Number(fields[3]);
  const startTime = fields[19];
  if (!Number.isInteger(ppid) || !Number.isInteger(pgid) || startTime === undefined)
    return undefined;
  // A zombie has already exited; it cannot be signalled usefully and its children are re-parented.
  if (fields[0] === "Z") return undefined;
  return { pid, ppid, pgid, sid, startTime };
}

/**
 * Reads /proc's tiny virtual files synchronously, `PROC_BATCH` at a time, yielding to the event
 * loop between batches. A synchronous read costs ~15 µs; an async readFile is four thread-pool
 * round trips, which made a whole-table scan ~10x slower and far more CPU-hungry. The batches keep
 * a host with thousands of processes from blocking the event loop for more than a few ms.
 */
export const PROC_BATCH = 128;

/** Calls `read` for each item, synchronously in batches of PROC_BATCH; keeps defined results. */
export async function readInBatches<T, R>(
  items: readonly T[],
  read: (item: T) => R | undefined,
): Promise<R[]> {
  const results: R[] = [];
  for (let start = 0; start < items.length; start += PROC_BATCH) {
    if (start > 0) await new Promise((resolve) => setImmediate(resolve));
    for (const item of items.slice(start, start + PROC_BATCH)) {
      const result = read(item);
      if (result !== undefined) results.push(result);
    }
  }
  return results;
}

/** All live processes; an empty list where /proc does not exist (macOS). */
export async function readProcessTable(): Promise<ProcessInfo[]> {
  return readInBatches(await listPids(), readProcessInfoSync);
}

/** Descendants of `rootPid` (not the root itself) in `table`. */
export function collectDescendants(rootPid: number, table: readonly ProcessInfo[]): ProcessInfo[] {
  const children = new Map<number, ProcessInfo[]>();
  for (const info of table) {
    const siblings = children.get(info.ppid);
    if (siblings === undefined) children.set(info.ppid, [info]);
    else siblings.push(info);
  }
  const found: ProcessInfo[] = [];
  const queue = [rootPid];
  const seen = new Set(queue);
  while (queue.length > 0) {
    const parent = queue.shift() as number;
    for (const child of children.get(parent) ?? []) {
      if (seen.has(child.pid)) continue;
      seen.add(child.pid);
      found.push(child);
      queue.push(child.pid);
    }
  }
  return found;
}

/** True when `info.pid` still names the same process (same start time). */
export async function isSameProcess(info: ProcessInfo): Promise<boolean> {
  const current = await readProcessInfo(info.pid);
  return current !== undefined && current.startTime === info.startTime;
}
