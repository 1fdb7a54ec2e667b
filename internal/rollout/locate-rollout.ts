// Finds a thread's rollout without walking the whole sessions tree on every turn: the path
// remembered with the agent's state first (and its .jsonl / .jsonl.zst twin: codex compresses idle
// rollouts and materialises them again on append), then today's directory, then a full search.
import { readdir, stat } from "node:fs/promises";
import { basename, join } from "node:path";

import { findRolloutFile, isRolloutFileOf } from "../codex/rollout-locator.js";
import { ZSTD_SUFFIX } from "./zstd.js";

export interface LocateOptions {
  /** The path stored from an earlier read, if any. */
  remembered?: string | undefined;
  /**
   * false: only the remembered path and the sessions directories of today and yesterday (where a
   * new thread's file appears; codex names directories by local date). true: also the full
   * search of sessions/ and archived_sessions/.
   */
  deep: boolean;
  /** For tests: the current time. */
  now?: Date;
}

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
  const now = options.now ?? new Date();
  for (const day of [now, new Date(now.getTime() - 24 * 3600 * 1000)]) {
    const found = await findInDir(dayDir(codexHome, day), threadId);
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

function dayDir(codexHome: string, day: Date): string {
  const pad = (value: number): string => String(value).padStart(2, "0");
  return join(
    codexHome,
    "sessions",
    String(day.getFullYear()),
    pad(day.getMonth() + 1),
    pad(day.getDate()),
  );
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
