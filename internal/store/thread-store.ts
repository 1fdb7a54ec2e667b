// Per-agent codex thread state: `<state_dir>/agents/<dir>/thread.json`. Written atomically
// (temp file, fsync, rename, then fsync of the directory), so a crash leaves the old file or the
// new one, never a truncated one.
import { open, readdir, readFile, rename, rm } from "node:fs/promises";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";

import writeFileAtomic from "write-file-atomic";
import { z } from "zod";

import { agentDirName, type AgentId } from "../core/agent-id.js";
import { AppError } from "../core/app-error.js";
import { type Usage } from "../core/usage.js";
import { KeyedQueue } from "./keyed-queue.js";

export const THREAD_FILE = "thread.json";

/** The stored state of one agent's codex thread. */
export interface ThreadRecord {
  thread_id: string;
  /** Codex's cumulative usage at the end of the last turn; the next turn reports the difference. */
  usage_baseline: Usage;
  /** True once a turn of this thread finished, i.e. codex persisted a rollout we can resume. */
  confirmed: boolean;
  /** ISO 8601. */
  updated_at: string;
  /** Kept for operators mapping directories back to agents. */
  agent_id?: string;
  /** How far the rollout mirror has read this thread's rollout file. */
  rollout?: RolloutCursor;
}

/** Where the rollout mirror stopped reading a thread's rollout file. */
export interface RolloutCursor {
  /** The rollout file last read (.jsonl or .jsonl.zst). */
  path: string;
  /** Byte offset in the (decompressed) content just after the last complete line read. */
  offset: number;
  /** Base64 of up to 64 bytes before `offset`: notices a file rewritten by someone else. */
  tail: string;
  /** The highest line ordinal read, for threads whose lines carry ordinals. */
  last_ordinal?: number;
}

export type ThreadLoadResult =
  | { status: "none" }
  | { status: "ok"; record: ThreadRecord }
  /** The file exists but is not a valid record; it is left in place for inspection. */
  | { status: "corrupt"; path: string; reason: string };

const count = z.number().int().nonnegative();
const recordSchema = z.object({
  thread_id: z.string().min(1),
  usage_baseline: z.object({
    input_tokens: count,
    cached_input_tokens: count,
    cache_write_input_tokens: count,
    output_tokens: count,
    reasoning_output_tokens: count,
  }),
  confirmed: z.boolean(),
  updated_at: z.string(),
  agent_id: z.string().optional(),
  rollout: z
    .object({
      path: z.string().min(1),
      offset: count,
      tail: z.string(),
      last_ordinal: count.optional(),
    })
    .optional(),
});

// write-file-atomic names its temp files `<file>.<uint32>`; `.tmp` covers older writers.
const STALE_TEMP = new RegExp(`^${THREAD_FILE.replace(".", "\\.")}\\.(\\d+|tmp)$|\\.tmp$`);
// At start-up no write of this process is in flight, so usage.json's temps (UsageStore, same
// directory, its own queue) go too.
const STALE_TEMP_AT_START = /^(thread|usage)\.json\.(\d+|tmp)$|\.tmp$/;

export class ThreadStore {
  readonly #agentsDir: string;
  // All operations on one agent directory run one after another, so a save never races a reset or
  // the temp-file cleanup of a load.
  readonly #queue = new KeyedQueue();

  constructor(stateDir: string) {
    this.#agentsDir = join(stateDir, "agents");
  }

  /** The agent's state directory (validates the id). */
  agentDir(agentId: AgentId): string {
    return join(this.#agentsDir, agentDirName(agentId));
  }

  /** Reads the agent's record; removes stale temp files left by a crash mid-write. */
  async load(agentId: AgentId): Promise<ThreadLoadResult> {
    const dir = this.agentDir(agentId);
    return this.#queue.run(dir, async () => {
      await removeStaleTemps(dir);
      return readRecord(join(dir, THREAD_FILE));
    });
  }

  /** Writes the record atomically (mode 0600, directories 0700). */
  async save(
    agentId: AgentId,
    record: Omit<ThreadRecord, "updated_at" | "agent_id">,
  ): Promise<ThreadRecord> {
    const dir = this.agentDir(agentId);
    const full: ThreadRecord = {
      thread_id: record.thread_id,
      usage_baseline: { ...record.usage_baseline },
      confirmed: record.confirmed,
      updated_at: new Date().toISOString(),
      agent_id: agentId,
    };
    if (record.rollout !== undefined) full.rollout = { ...record.rollout };
    await this.#queue.run(dir, async () => {
      // A save that does not mention the rollout cursor keeps the one stored for the same thread.
      if (full.rollout === undefined) {
        const previous = await readRecord(join(dir, THREAD_FILE)).catch(() => undefined);
        if (previous?.status === "ok" && previous.record.thread_id === full.thread_id) {
          if (previous.record.rollout !== undefined) full.rollout = previous.record.rollout;
        }
      }
      await writeRecord(dir, full);
    });
    return full;
  }

  /**
   * Stores the rollout cursor of the agent's thread `threadId`. Returns false, writing nothing,
   * when the agent's stored thread is another one (or none).
   */
  async saveRolloutCursor(
    agentId: AgentId,
    threadId: string,
    cursor: RolloutCursor,
  ): Promise<boolean> {
    const dir = this.agentDir(agentId);
    return this.#queue.run(dir, async () => {
      const current = await readRecord(join(dir, THREAD_FILE));
      if (current.status !== "ok" || current.record.thread_id !== threadId) return false;
      await writeRecord(dir, {
        ...current.record,
        updated_at: new Date().toISOString(),
        agent_id: agentId,
        rollout: { ...cursor },
      });
      return true;
    });
  }

  /** Forgets the agent's thread; returns the previous thread id, if a valid record existed. */
  async reset(agentId: AgentId): Promise<string | undefined> {
    const dir = this.agentDir(agentId);
    return this.#queue.run(dir, async () => {
      const path = join(dir, THREAD_FILE);
      const previous = await readRecord(path);
      if (previous.status === "corrupt") {
        await quarantine(path);
        return undefined;
      }
      await rm(path, { force: true }).catch((error: unknown) => {
        throw new AppError("THREAD_STORE_FAILED", `could not remove ${path}`, { cause: error });
      });
      return previous.status === "ok" ? previous.record.thread_id : undefined;
    });
  }

  /**
   * Moves a corrupt thread.json aside (`thread.json.corrupt-<time>`) so the next save does not
   * overwrite the evidence. Returns the new path.
   */
  async quarantineCorrupt(agentId: AgentId): Promise<string | undefined> {
    const dir = this.agentDir(agentId);
    return this.#queue.run(dir, () => quarantine(join(dir, THREAD_FILE)));
  }

  /**
   * Removes the temp files that writers killed mid-write left in every agent directory; run at
   * start-up. Returns how many were removed. Never throws.
   */
  async cleanStaleTemps(): Promise<number> {
    let names: string[];
    try {
      names = await readdir(this.#agentsDir);
    } catch {
      return 0;
    }
    let removed = 0;
    for (const name of names) {
      const dir = join(this.#agentsDir, name);
      removed += await this.#queue
        .run(dir, () => removeStaleTemps(dir, STALE_TEMP_AT_START))
        .catch(() => 0);
    }
    return removed;
  }
}

async function readRecord(path: string): Promise<ThreadLoadResult> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if (isErrno(error, "ENOENT")) return { status: "none" };
    throw new AppError("THREAD_STORE_FAILED", `could not read ${path}`, { cause: error });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { status: "corrupt", path, reason: `not valid JSON (${String(error)})` };
  }
  const parsed = recordSchema.safeParse(value);
  if (!parsed.success) {
    const problems = parsed.error.issues.map(
      (issue) => `${issue.path.join(".") || "(root)"}: ${issue.message}`,
    );
    return { status: "corrupt", path, reason: problems.join("; ") };
  }
  const { agent_id, rollout, ...rest } = parsed.data;
  const record: ThreadRecord = rest;
  if (agent_id !== undefined) record.agent_id = agent_id;
  if (rollout !== undefined) {
    const { last_ordinal, ...cursor } = rollout;
    record.rollout = last_ordinal === undefined ? cursor : { ...cursor, last_ordinal };
  }
  return { status: "ok", record };
}

async function writeRecord(dir: string, record: ThreadRecord): Promise<void> {
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await writeFileAtomic(join(dir, THREAD_FILE), `${JSON.stringify(record, null, 2)}\n`, {
      mode: 0o600,
      fsync: true,
    });
    await fsyncDirectory(dir);
  } catch (error) {
    throw new AppError("ATOMIC_WRITE_FAILED", `could not write ${join(dir, THREAD_FILE)}`, {
      cause: error,
    });
  }
}

/** Makes a rename in `dir` durable: fsyncs the directory entry. */
export async function fsyncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, "r");
  try {
    await handle.sync();
  } catch (error) {
    // Some filesystems refuse fsync on directories; the rename itself has still happened.
    if (!isErrno(error, "EINVAL") && !isErrno(error, "EISDIR")) throw error;
  } finally {
    await handle.close();
  }
}

async function removeStaleTemps(dir: string, pattern = STALE_TEMP): Promise<number> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    if (isErrno(error, "ENOENT")) return 0;
    throw new AppError("THREAD_STORE_FAILED", `could not list ${dir}`, { cause: error });
  }
  // A temp file that cannot be removed (read-only state dir) is harmless: it is never read.
  const removed = await Promise.all(
    names
      .filter((name) => pattern.test(name))
      .map((name) =>
        rm(join(dir, name), { force: true }).then(
          () => 1,
          () => 0,
        ),
      ),
  );
  return removed.reduce((sum: number, one) => sum + one, 0);
}

async function quarantine(path: string): Promise<string | undefined> {
  const target = `${path}.corrupt-${new Date().toISOString().replace(/[:.]/g, "-")}`;
  try {
    await rename(path, target);
    return target;
  } catch (error) {
    if (isErrno(error, "ENOENT")) return undefined;
    throw new AppError("THREAD_STORE_FAILED", `could not move corrupt ${path} aside`, {
      cause: error,
    });
  }
}

function isErrno(error: unknown, code: string): boolean {
  return typeof error === "object" && error !== null && (error as { code?: unknown }).code === code;
}
