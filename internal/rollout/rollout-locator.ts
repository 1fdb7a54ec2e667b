// Finds a thread's rollout without walking the whole sessions tree on every turn: the path
// remembered with the agent's state first (and its .jsonl / .jsonl.zst twin: codex compresses idle
// rollouts and materialises them again on append), then the session directories of the dates the
// thread can have been created on, then a full search.
//
// The files: $CODEX_HOME/sessions/YYYY/MM/DD/rollout-<time>-<thread_id>.jsonl, and under
// archived_sessions. A thread id whose first turn never finished may have no rollout.
import { readdir, stat } from "node:fs/promises";
import { basename, join } from "node:path";

import { ZSTD_SUFFIX } from "./zstd.js";

export interface LocateOptions {
  /** The path stored from an earlier read, if any. */
  remembered?: string | undefined;
  /**
   * false: only the remembered path and the session directories of `window`. true: also the full
   * search of sessions/ and archived_sessions/.
   */
  deep: boolean;
  /** When codex may have created the file: from the turn's start to now. */
  window: TimeWindow;
}

/** A span of wall-clock time, epoch milliseconds. */
export interface TimeWindow {
  from: number;
  to: number;
}

const HOUR_MS = 3600_000;
const DAY_MS = 24 * HOUR_MS;
/** Local time runs from UTC−12 to UTC+14. */
const WEST_MS = 12 * HOUR_MS;
const EAST_MS = 14 * HOUR_MS;
/** Past this many days a window is searched deep only. */
const MAX_WINDOW_DAYS = 31;

/** The rollout file of `threadId`, preferring the plain file when both forms exist. */
export async function locateRollout(
  codexHome: string,
  threadId: string,
  options: LocateOptions,
): Promise<string | undefined> {
  const remembered = options.remembered;
  if (remembered !== undefined && isRolloutFileOf(basename(remembered), threadId)) {
    for (const candidate of twins(remembered)) {
      if (await isFile(candidate)) return candidate;
    }
  }
  for (const dir of sessionDayDirs(codexHome, options.window)) {
    const found = await findInDir(dir, threadId);
    if (found !== undefined) return found;
  }
  if (!options.deep) return undefined;
  const found = await findRolloutFile(codexHome, threadId);
  return found === undefined ? undefined : preferPlain(found);
}

// The plain path first, then the compressed one.
function twins(path: string): [string, string] {
  const plain = path.endsWith(ZSTD_SUFFIX) ? path.slice(0, -ZSTD_SUFFIX.length) : path;
  return [plain, plain + ZSTD_SUFFIX];
}

async function preferPlain(path: string): Promise<string> {
  const [plain] = twins(path);
  return plain !== path && (await isFile(plain)) ? plain : path;
}

/**
 * sessions/YYYY/MM/DD for every date some time zone shows during `window`, newest first. Codex
 * names the directory by its own local date, and its zone need not be the plugin's.
 */
export function sessionDayDirs(codexHome: string, window: TimeWindow): string[] {
  const last = Math.floor((window.to + EAST_MS) / DAY_MS);
  const first = Math.max(Math.floor((window.from - WEST_MS) / DAY_MS), last - MAX_WINDOW_DAYS);
  const dirs: string[] = [];
  for (let day = last; day >= first; day -= 1) {
    const [year, month, date] = new Date(day * DAY_MS).toISOString().slice(0, 10).split("-");
    dirs.push(join(codexHome, "sessions", year ?? "", month ?? "", date ?? ""));
  }
  return dirs;
}

async function findInDir(dir: string, threadId: string): Promise<string | undefined> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return undefined;
  }
  const matching = names.filter((name) => isRolloutFileOf(name, threadId)).sort();
  // Sorted, "x.jsonl" comes before "x.jsonl.zst".
  const first = matching[0];
  return first === undefined ? undefined : join(dir, first);
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

/** True for the file name of a rollout of `threadId`, plain (.jsonl) or compressed (.jsonl.zst). */
export function isRolloutFileOf(name: string, threadId: string): boolean {
  const lower = name.toLowerCase();
  const id = threadId.toLowerCase();
  return (
    lower.startsWith("rollout-") &&
    (lower.endsWith(`-${id}.jsonl`) || lower.endsWith(`-${id}.jsonl.zst`))
  );
}

/**
 * The rollout path of `threadId`: sessions/YYYY/MM/DD newest day first, then archived_sessions
 * (where codex moves archived threads and compresses idle ones); undefined when there is none.
 */
export async function findRolloutFile(
  codexHome: string,
  threadId: string,
): Promise<string | undefined> {
  const matches = (name: string): boolean => isRolloutFileOf(name, threadId);
  const active = await findInDateTree(join(codexHome, "sessions"), matches);
  if (active !== undefined) return active;
  const archived = join(codexHome, "archived_sessions");
  const flat = (await listDescending(archived)).find(matches);
  if (flat !== undefined) return join(archived, flat);
  return findInDateTree(archived, matches);
}

async function findInDateTree(
  root: string,
  matches: (name: string) => boolean,
): Promise<string | undefined> {
  for (const year of await listDescending(root)) {
    for (const month of await listDescending(join(root, year))) {
      for (const day of await listDescending(join(root, year, month))) {
        const dir = join(root, year, month, day);
        const found = (await listDescending(dir)).find(matches);
        if (found !== undefined) return join(dir, found);
      }
    }
  }
  return undefined;
}

async function listDescending(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).sort().reverse();
  } catch {
    return [];
  }
}
