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

/** The rollout path of `threadId`, newest day first; undefined when there is none. */
export async function findRolloutFile(
  codexHome: string,
  threadId: string,
): Promise<string | undefined> {
  const id = threadId.toLowerCase();
  // Active rollouts are plain .jsonl in 0.169.0; .jsonl.zst is accepted in case that changes.
  const matches = (name: string): boolean => {
    const lower = name.toLowerCase();
    return (
      lower.startsWith("rollout-") &&
      (lower.endsWith(`-${id}.jsonl`) || lower.endsWith(`-${id}.jsonl.zst`))
    );
  };
  const sessions = join(codexHome, "sessions");
  for (const year of await listDescending(sessions)) {
    for (const month of await listDescending(join(sessions, year))) {
      for (const day of await listDescending(join(sessions, year, month))) {
        const dir = join(sessions, year, month, day);
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
