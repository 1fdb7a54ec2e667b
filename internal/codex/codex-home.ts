// Finds a thread's rollout file: $CODEX_HOME/sessions/YYYY/MM/DD/rollout-<time>-<thread_id>.jsonl.
// A thread id whose first turn never finished may have no rollout, and resuming it fails.
import { readdir } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";

/** CODEX_HOME as codex would see it: config, else the environment, else ~/.codex. */
export function effectiveCodexHome(
  configured: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): string {
  if (configured !== undefined) return configured;
  const fromEnv = env["CODEX_HOME"];
  return fromEnv !== undefined && fromEnv !== "" ? fromEnv : join(homedir(), ".codex");
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
