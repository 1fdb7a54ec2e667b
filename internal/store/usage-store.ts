// Per-agent usage totals: `<state_dir>/agents/<dir>/usage.json`, next to thread.json but separate
// from it, so the totals outlive ResetThread and a new thread. Each update is one atomic write
// that carries both the total and the thread figure it was counted up to, so recording the same
// codex figure twice (a retried save, a plugin restart between two writes) adds nothing. The file
// also keeps the latest account rate-limit windows the agent's turns saw: rate limits belong to
// an account, but the plugin cannot tell which account a turn used (a per-agent CODEX_HOME, a
// per-turn key), so they are kept per agent, as observed.
import { mkdir, readFile, rename } from "node:fs/promises";
import { join } from "node:path";

import writeFileAtomic from "write-file-atomic";
import { z } from "zod";

import { agentDirName, type AgentId } from "../core/agent-id.js";
import { AppError } from "../core/app-error.js";
import { mergeRateLimits, type RateLimitWindow } from "../core/rate-limits.js";
import { emptyUsage, type Usage, USAGE_FIELDS } from "../core/usage.js";
import { KeyedQueue } from "./keyed-queue.js";

export const USAGE_FILE = "usage.json";

/** What usage.json holds. */
export interface UsageRecord {
  /** Sum of every counted turn's usage, over all threads of the agent. */
  total: Usage;
  /** Turns counted in `total`. */
  turns: number;
  /** The thread last counted and codex's cumulative figure for it at that point. */
  counted_thread_id: string;
  counted_thread_usage: Usage;
  /** ISO 8601. */
  updated_at: string;
  agent_id?: string;
  /** The latest rate-limit window seen per limit id and kind. */
  rate_limits?: StoredRateLimitWindow[];
}

/** A RateLimitWindow as usage.json holds it. */
export interface StoredRateLimitWindow {
  limit_id: string;
  limit_name: string;
  kind: "primary" | "secondary";
  used_percent: number;
  window_minutes?: number;
  /** Epoch milliseconds. */
  resets_at_ms?: number;
  source: "rollout" | "app-server";
  /** Epoch milliseconds. */
  observed_at_ms: number;
  thread_id: string;
}

const count = z.number().int().nonnegative();
const usageSchema = z.object({
  input_tokens: count,
  cached_input_tokens: count,
  cache_write_input_tokens: count,
  output_tokens: count,
  reasoning_output_tokens: count,
});
const recordSchema = z.object({
  total: usageSchema,
  turns: count,
  counted_thread_id: z.string(),
  counted_thread_usage: usageSchema,
  updated_at: z.string(),
  agent_id: z.string().optional(),
  // Checked entry by entry: an entry this version cannot read is dropped, the totals are kept.
  rate_limits: z.array(z.unknown()).optional(),
});
const epochMs = z.number().int().nonnegative();
const windowSchema = z.object({
  limit_id: z.string(),
  limit_name: z.string(),
  kind: z.enum(["primary", "secondary"]),
  used_percent: z.number().finite(),
  window_minutes: count.optional(),
  resets_at_ms: epochMs.optional(),
  source: z.enum(["rollout", "app-server"]),
  observed_at_ms: epochMs,
  thread_id: z.string(),
});

/** The result of counting one completed turn. */
export interface CountedTurn {
  /** What was added to the total (zero when this figure was already counted). */
  added: Usage;
  record: UsageRecord;
}

export class UsageStore {
  readonly #agentsDir: string;
  readonly #queue = new KeyedQueue();

  constructor(stateDir: string) {
    this.#agentsDir = join(stateDir, "agents");
  }

  /** The agent's totals; zeros when it never completed a turn. A corrupt file is moved aside. */
  async load(agentId: AgentId): Promise<UsageRecord> {
    const dir = this.#dir(agentId);
    return this.#queue.run(dir, () => readRecord(join(dir, USAGE_FILE)));
  }

  /**
   * Counts a completed turn from codex's thread-cumulative figure: the increase over the last
   * figure counted for the same thread, or the whole figure for a thread not counted before (a new
   * thread, or one whose total went down, which only a different thread can do).
   */
  async recordTurn(agentId: AgentId, threadId: string, cumulative: Usage): Promise<CountedTurn> {
    const dir = this.#dir(agentId);
    return this.#queue.run(dir, async () => {
      const path = join(dir, USAGE_FILE);
      const previous = await readRecord(path);
      const sameThread =
        previous.counted_thread_id !== "" && previous.counted_thread_id === threadId;
      const grew = USAGE_FIELDS.every(
        (field) => cumulative[field] >= previous.counted_thread_usage[field],
      );
      const added = emptyUsage();
      for (const field of USAGE_FIELDS) {
        added[field] =
          sameThread && grew
            ? cumulative[field] - previous.counted_thread_usage[field]
            : cumulative[field];
      }
      const repeated = sameThread && USAGE_FIELDS.every((field) => added[field] === 0);
      const record: UsageRecord = {
        total: sum(previous.total, added),
        // The same figure twice is one turn recorded twice, not a second turn.
        turns: previous.turns + (repeated ? 0 : 1),
        counted_thread_id: threadId,
        counted_thread_usage: { ...cumulative },
        updated_at: new Date().toISOString(),
        agent_id: agentId,
        ...(previous.rate_limits === undefined ? {} : { rate_limits: previous.rate_limits }),
      };
      await writeRecord(dir, path, record);
      return { added, record };
    });
  }

  /** Merges the windows a turn saw into the stored ones: per limit id and kind, the later wins. */
  async recordRateLimits(
    agentId: AgentId,
    seen: readonly RateLimitWindow[],
  ): Promise<RateLimitWindow[]> {
    const dir = this.#dir(agentId);
    return this.#queue.run(dir, async () => {
      const path = join(dir, USAGE_FILE);
      const previous = await readRecord(path);
      const merged = mergeRateLimits(rateLimitsOf(previous), seen);
      await writeRecord(dir, path, {
        ...previous,
        updated_at: new Date().toISOString(),
        agent_id: agentId,
        rate_limits: merged.map(windowToStored),
      });
      return merged;
    });
  }

  #dir(agentId: AgentId): string {
    return join(this.#agentsDir, agentDirName(agentId));
  }
}

/** A record's rate-limit windows, the latest per limit id and kind. */
export function rateLimitsOf(record: UsageRecord): RateLimitWindow[] {
  return record.rate_limits?.map(windowFromStored) ?? [];
}

function emptyRecord(): UsageRecord {
  return {
    total: emptyUsage(),
    turns: 0,
    counted_thread_id: "",
    counted_thread_usage: emptyUsage(),
    updated_at: "",
  };
}

function sum(a: Usage, b: Usage): Usage {
  const result = emptyUsage();
  for (const field of USAGE_FIELDS) result[field] = a[field] + b[field];
  return result;
}

async function readRecord(path: string): Promise<UsageRecord> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if ((error as { code?: unknown }).code === "ENOENT") return emptyRecord();
    throw new AppError("THREAD_STORE_FAILED", `could not read ${path}`, { cause: error });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    value = undefined;
  }
  const parsed = recordSchema.safeParse(value);
  if (!parsed.success) {
    // Keep the evidence and start counting again rather than failing every turn.
    await rename(path, `${path}.corrupt-${Date.now()}`).catch(() => undefined);
    return emptyRecord();
  }
  const { agent_id, rate_limits, ...rest } = parsed.data;
  const record: UsageRecord = agent_id === undefined ? rest : { ...rest, agent_id };
  if (rate_limits !== undefined) record.rate_limits = storedWindows(rate_limits);
  return record;
}

// The entries this version can read, with optional fields left out rather than undefined.
function storedWindows(entries: readonly unknown[]): StoredRateLimitWindow[] {
  const windows: StoredRateLimitWindow[] = [];
  for (const entry of entries) {
    const parsed = windowSchema.safeParse(entry);
    if (!parsed.success) continue;
    const { window_minutes, resets_at_ms, ...rest } = parsed.data;
    windows.push({
      ...rest,
      ...(window_minutes === undefined ? {} : { window_minutes }),
      ...(resets_at_ms === undefined ? {} : { resets_at_ms }),
    });
  }
  return windows;
}

function windowFromStored(stored: StoredRateLimitWindow): RateLimitWindow {
  return {
    limitId: stored.limit_id,
    limitName: stored.limit_name,
    kind: stored.kind,
    usedPercent: stored.used_percent,
    ...(stored.window_minutes === undefined ? {} : { windowMinutes: stored.window_minutes }),
    ...(stored.resets_at_ms === undefined ? {} : { resetsAtMs: stored.resets_at_ms }),
    source: stored.source,
    observedAtMs: stored.observed_at_ms,
    threadId: stored.thread_id,
  };
}

function windowToStored(window: RateLimitWindow): StoredRateLimitWindow {
  return {
    limit_id: window.limitId,
    limit_name: window.limitName,
    kind: window.kind,
    used_percent: window.usedPercent,
    ...(window.windowMinutes === undefined ? {} : { window_minutes: window.windowMinutes }),
    ...(window.resetsAtMs === undefined ? {} : { resets_at_ms: window.resetsAtMs }),
    source: window.source,
    observed_at_ms: window.observedAtMs,
    thread_id: window.threadId,
  };
}

async function writeRecord(dir: string, path: string, record: UsageRecord): Promise<void> {
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await writeFileAtomic(path, `${JSON.stringify(record, null, 2)}\n`, {
      mode: 0o600,
      fsync: true,
    });
  } catch (error) {
    throw new AppError("ATOMIC_WRITE_FAILED", `could not write ${path}`, { cause: error });
  }
}
