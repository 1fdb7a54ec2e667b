// The boot reaper: kills what earlier plugin instances left running, from the records in
// `<state_dir>/processes` (process-ledger.ts), and removes the records. A pid is only ever signalled
// when its start time (/proc/<pid>/stat field 22) still matches the recorded one, so a recycled pid
// is never killed; records from before a reboot are dropped.
import { readdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";

import type { Logger } from "pino";

import { delay } from "../core/delay.js";
import {
  currentIdentity,
  LEDGER_DIR_NAME,
  type LedgerIdentity,
  type LedgerProcess,
  type LedgerRecord,
  RECORD_VERSION,
  toLedger,
} from "./process-ledger.js";
import {
  collectDescendants,
  type ProcessInfo,
  readProcessInfo,
  readProcessTable,
  trySignal,
} from "./process-tree.js";
import { findMarkedProcesses } from "./run-marker.js";
import { findSessionMembers } from "./session-sweep.js";

// SIGKILL rounds of the reaper; each catches what forked while the previous one was killed.
const KILL_ROUNDS = 5;

/** What {@link reapLeftovers} did. */
export interface ReapReport {
  /** Records read. */
  records: number;
  /** Records whose owner plugin is still alive, left alone. */
  ownedByLivePlugin: number;
  /** Processes signalled (all verified by start time). */
  killed: LedgerProcess[];
  /** Records removed (their processes are gone, or they were from an earlier boot or unreadable). */
  removed: number;
  /** Processes still alive after the kill; their records are kept for the next start. */
  survivors: LedgerProcess[];
}

export interface ReapOptions {
  logger?: Logger;
  /** How long codex gets after SIGINT to stop its own command groups; default 1000 ms. */
  interruptGraceMs?: number;
  /** How long to wait for SIGKILLed processes to disappear; default 2000 ms. */
  killWaitMs?: number;
  /**
   * Start time (clock ticks) after which a process cannot be a leftover; default this process's
   * own. Only session and group members found by id are held to it; tests move it.
   */
  notAfter?: string;
  /** This boot and plugin; read from /proc by default. */
  identity?: LedgerIdentity;
}

function parseRecord(text: string): LedgerRecord | undefined {
  try {
    const value = JSON.parse(text) as Partial<LedgerRecord>;
    const valid =
      value.version === RECORD_VERSION &&
      typeof value.boot_id === "string" &&
      typeof value.owner?.pid === "number" &&
      typeof value.owner.start_time === "string" &&
      isLedgerProcess(value.process) &&
      typeof value.run_marker === "string" &&
      Array.isArray(value.descendants) &&
      value.descendants.every(isLedgerProcess);
    return valid ? (value as LedgerRecord) : undefined;
  } catch {
    return undefined;
  }
}

function isLedgerProcess(value: unknown): value is LedgerProcess {
  const entry = value as Partial<LedgerProcess> | undefined;
  return (
    typeof entry?.pid === "number" &&
    Number.isInteger(entry.pid) &&
    entry.pid > 1 &&
    typeof entry.start_time === "string" &&
    /^\d+$/.test(entry.start_time) &&
    typeof entry.pgid === "number" &&
    typeof entry.sid === "number"
  );
}

/**
 * Kills what earlier plugin instances left running from `<stateDir>/processes` and removes their
 * records. Records of a plugin that is still alive are left alone. Never throws.
 *
 * For each leftover codex: SIGINT (codex's clean interrupt, which also stops the command sessions
 * it knows about), then SIGKILL to everything that remains: codex, its current descendants, the
 * recorded descendants, and every process still in a session or process group that codex or one
 * of its commands led (an orphaned grandchild keeps those ids after its parents died). Each of them
 * is verified by start time first.
 */
export async function reapLeftovers(
  stateDir: string,
  options: ReapOptions = {},
): Promise<ReapReport> {
  const report: ReapReport = {
    records: 0,
    ownedByLivePlugin: 0,
    killed: [],
    removed: 0,
    survivors: [],
  };
  const dir = join(stateDir, LEDGER_DIR_NAME);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return report;
  }
  const logger = options.logger;
  const { bootId, self } = options.identity ?? currentIdentity();
  const records: { path: string; record: LedgerRecord }[] = [];
  for (const name of names) {
    const path = join(dir, name);
    if (name.includes(".tmp-")) {
      // A record write cut short; its pid is not ours unless this very process wrote it.
      if (!name.endsWith(`.tmp-${process.pid}`)) await rm(path, { force: true }).catch(() => {});
      continue;
    }
    if (!name.endsWith(".json")) continue;
    report.records += 1;
    const record = parseRecord(await readFile(path, "utf8").catch(() => ""));
    if (record === undefined || record.boot_id !== bootId || bootId === "") {
      // Unreadable, or from an earlier boot: those processes died with the machine.
      await removeRecord(path, report);
      continue;
    }
    records.push({ path, record });
  }
  if (records.length === 0) return report;

  const initial = new Map((await readProcessTable()).map((info) => [info.pid, info]));
  const alive = (entry: { pid: number; start_time: string }) =>
    initial.get(entry.pid)?.startTime === entry.start_time;
  const myStart = BigInt(options.notAfter ?? (self.start_time === "" ? "0" : self.start_time));

  const leftovers: { path: string; record: LedgerRecord; targets: Map<number, ProcessInfo> }[] = [];
  for (const { path, record } of records) {
    const ownerIsUs = record.owner.pid === self.pid && record.owner.start_time === self.start_time;
    if (ownerIsUs || alive(record.owner)) {
      report.ownedByLivePlugin += 1;
      continue;
    }
    leftovers.push({ path, record, targets: new Map() });
  }

  // Codex first, gently: on SIGINT it interrupts the turn, records it in the rollout and kills
  // the command sessions it started.
  const interrupted = leftovers.filter(({ record }) => alive(record.process));
  for (const { record } of interrupted) trySignal(record.process.pid, "SIGINT");
  if (interrupted.length > 0) {
    await waitGone(
      interrupted.map(({ record }) => record.process),
      options.interruptGraceMs ?? 1000,
    );
  }

  // Then SIGKILL for everything of theirs, in rounds: a process forked while a round was being
  // killed is caught by the next one (it inherited the run marker, or sits in a recorded session).
  const markers = new Set(leftovers.map(({ record }) => record.run_marker));
  const killed = new Map<number, ProcessInfo>();
  for (let round = 0; round < KILL_ROUNDS; round += 1) {
    const table = await readProcessTable();
    const byPid = new Map(table.map((info) => [info.pid, info]));
    const marked = await findMarkedProcesses(markers);
    let signalled = 0;
    for (const leftover of leftovers) {
      const targets = findTargets(leftover.record, table, byPid, myStart);
      for (const info of marked) {
        if (info.marker === leftover.record.run_marker && info.pid > 1) targets.set(info.pid, info);
      }
      for (const info of targets.values()) {
        leftover.targets.set(info.pid, info);
        const current = await readProcessInfo(info.pid);
        if (current === undefined || current.startTime !== info.startTime) continue;
        trySignal(info.pid, "SIGKILL");
        signalled += 1;
        if (!killed.has(info.pid)) {
          killed.set(info.pid, info);
          report.killed.push(toLedger(info));
        }
      }
    }
    if (signalled === 0) break;
    await waitGone([...killed.values()].map(toLedger), options.killWaitMs ?? 2000);
  }

  for (const leftover of leftovers) {
    const alive: LedgerProcess[] = [];
    for (const info of leftover.targets.values()) {
      const current = await readProcessInfo(info.pid);
      if (current !== undefined && current.startTime === info.startTime) alive.push(toLedger(info));
    }
    if (alive.length === 0) await removeRecord(leftover.path, report);
    else report.survivors.push(...alive);
  }
  if (report.killed.length > 0 || report.survivors.length > 0) {
    logger?.warn(
      {
        state_dir: stateDir,
        killed: report.killed.map((entry) => entry.pid),
        survivors: report.survivors.map((entry) => entry.pid),
      },
      "killed codex processes left by an earlier plugin instance",
    );
  }
  return report;
}

// Everything of one record that is still running, verified by start time.
function findTargets(
  record: LedgerRecord,
  table: readonly ProcessInfo[],
  byPid: ReadonlyMap<number, ProcessInfo>,
  myStart: bigint,
): Map<number, ProcessInfo> {
  const targets = new Map<number, ProcessInfo>();
  const add = (info: ProcessInfo) => {
    if (info.pid !== process.pid && info.pid > 1) targets.set(info.pid, info);
  };
  const recorded = [record.process, ...record.descendants];
  for (const entry of recorded) {
    const current = byPid.get(entry.pid);
    if (current === undefined || current.startTime !== entry.start_time) continue;
    add(current);
    for (const descendant of collectDescendants(current.pid, table)) add(descendant);
  }
  // Orphans still in a session or group a recorded process led; leftovers predate this plugin.
  const leaders = recorded.map((entry) => ({
    pid: entry.pid,
    pgid: entry.pgid,
    sid: entry.sid,
    startTime: entry.start_time,
  }));
  for (const member of findSessionMembers(leaders, table, myStart > 0n ? myStart : undefined)) {
    add(member);
  }
  return targets;
}

async function waitGone(entries: readonly LedgerProcess[], timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    let alive = false;
    for (const entry of entries) {
      const current = await readProcessInfo(entry.pid);
      if (current !== undefined && current.startTime === entry.start_time) {
        alive = true;
        break;
      }
    }
    if (!alive || performance.now() >= deadline) return;
    await delay(50);
  }
}

async function removeRecord(path: string, report: ReapReport): Promise<void> {
  try {
    await rm(path, { force: true });
    report.removed += 1;
  } catch {
    // A read-only state dir: the record stays; it is harmless (its processes are verified again).
  }
}
