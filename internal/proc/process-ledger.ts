// Process accounting for crash recovery: every codex process the plugin starts is recorded in
// `<state_dir>/processes/<pid>-<start time>.json`, with the descendants found while it ran, until it
// has exited and been reaped. A plugin that dies without cleaning up (SIGKILL, OOM, a host that
// killed it, a crash) leaves the records behind, and its codex processes keep running: codex runs
// in its own session, and the commands it starts run in sessions of their own. The next plugin
// instance that uses the state dir reaps them ({@link reapLeftovers}).
//
// A pid is only ever signalled when its start time (/proc/<pid>/stat field 22) still matches the
// recorded one, so a recycled pid is never killed; records from before a reboot are dropped.
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { readdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";

import type { Logger } from "pino";

import {
  collectDescendants,
  type ProcessInfo,
  readProcessInfo,
  readProcessTable,
} from "./process-tree.js";
import { findMarkedProcesses } from "./run-marker.js";
import { findSessionMembers } from "./session-sweep.js";
import type { ProcessAccounting } from "./supervise.js";

export const LEDGER_DIR_NAME = "processes";
const RECORD_VERSION = 1;
// SIGKILL rounds of the reaper; each catches what forked while the previous one was killed.
const KILL_ROUNDS = 5;

/** One process as recorded: enough to find it again and to prove it is the same one. */
export interface LedgerProcess {
  pid: number;
  start_time: string;
  pgid: number;
  sid: number;
}

/** The file written per codex process. */
export interface LedgerRecord {
  version: typeof RECORD_VERSION;
  /** /proc/sys/kernel/random/boot_id: start times are only comparable within one boot. */
  boot_id: string;
  /** The plugin process that started codex; its records are left alone while it lives. */
  owner: { pid: number; start_time: string };
  process: LedgerProcess;
  agent_id?: string;
  /** PLEXUM_CODEX_RUN of this codex run; everything it started inherited it. */
  run_marker: string;
  started_at: string;
  /** Every descendant seen while codex ran (cumulative), including those in other sessions. */
  descendants: LedgerProcess[];
}

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
}

function readBootId(): string {
  try {
    return readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
  } catch {
    return "";
  }
}

function readStartTimeSync(pid: number | "self"): string | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "utf8");
    return text.slice(text.lastIndexOf(")") + 2).split(" ")[19];
  } catch {
    return undefined;
  }
}

function readStatSync(pid: number): LedgerProcess | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
    const startTime = fields[19];
    if (startTime === undefined || fields[0] === "Z") return undefined;
    return { pid, pgid: Number(fields[2]), sid: Number(fields[3]), start_time: startTime };
  } catch {
    return undefined;
  }
}

const BOOT_ID = readBootId();
const SELF = { pid: process.pid, start_time: readStartTimeSync("self") ?? "" };

function toLedger(info: ProcessInfo): LedgerProcess {
  return { pid: info.pid, start_time: info.startTime, pgid: info.pgid, sid: info.sid ?? 0 };
}

/**
 * The records of one state dir. Writes are synchronous and tiny: a record must be on disk before
 * anything else runs, because the plugin may be SIGKILLed at any moment. Failures (a read-only or
 * full state dir) are logged once and never fail a turn.
 */
export class ProcessLedger {
  readonly dir: string;
  readonly #logger: Logger | undefined;
  #warned = false;

  constructor(stateDir: string, options: { logger?: Logger } = {}) {
    this.dir = join(stateDir, LEDGER_DIR_NAME);
    this.#logger = options.logger;
  }

  /** Bookkeeping for one child about to be spawned; pass it to superviseProcess. */
  track(meta: { agentId?: string } = {}): ProcessAccounting {
    let record: LedgerRecord | undefined;
    let path: string | undefined;
    const known = new Set<number>();
    return {
      spawned: (pid, runMarker) => {
        const self = readStatSync(pid);
        // Without /proc there is no start time, and without one a pid cannot be killed safely later.
        if (self === undefined || BOOT_ID === "" || SELF.start_time === "") return;
        record = {
          version: RECORD_VERSION,
          boot_id: BOOT_ID,
          owner: SELF,
          process: self,
          run_marker: runMarker,
          started_at: new Date().toISOString(),
          descendants: [],
          ...(meta.agentId === undefined ? {} : { agent_id: meta.agentId }),
        };
        path = join(this.dir, `${pid}-${self.start_time}.json`);
        this.#write(path, record);
      },
      descendants: (found) => {
        if (record === undefined || path === undefined) return;
        let changed = false;
        for (const info of found) {
          if (known.has(info.pid)) continue;
          known.add(info.pid);
          record.descendants.push(toLedger(info));
          changed = true;
        }
        if (changed) this.#write(path, record);
      },
      reaped: () => {
        if (path === undefined) return;
        try {
          rmSync(path, { force: true });
        } catch (error) {
          this.#warn(error, "could not remove a process record");
        }
        record = undefined;
        path = undefined;
      },
    };
  }

  #write(path: string, record: LedgerRecord): void {
    const temp = `${path}.tmp-${process.pid}`;
    try {
      mkdirSync(this.dir, { recursive: true, mode: 0o700 });
      writeFileSync(temp, `${JSON.stringify(record)}\n`, { mode: 0o600 });
      renameSync(temp, path);
    } catch (error) {
      try {
        rmSync(temp, { force: true });
      } catch {
        // Nothing more to do.
      }
      this.#warn(error, "could not record a codex process for crash recovery");
    }
  }

  #warn(error: unknown, message: string): void {
    if (this.#warned) return;
    this.#warned = true;
    this.#logger?.warn({ err: error, dir: this.dir }, message);
  }
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

function trySignal(target: number, signal: NodeJS.Signals): void {
  try {
    process.kill(target, signal);
  } catch {
    // ESRCH: gone already.
  }
}

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

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
    if (record === undefined || record.boot_id !== BOOT_ID || BOOT_ID === "") {
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
  const myStart = BigInt(options.notAfter ?? (SELF.start_time === "" ? "0" : SELF.start_time));

  const leftovers: { path: string; record: LedgerRecord; targets: Map<number, ProcessInfo> }[] = [];
  for (const { path, record } of records) {
    const ownerIsUs = record.owner.pid === SELF.pid && record.owner.start_time === SELF.start_time;
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
