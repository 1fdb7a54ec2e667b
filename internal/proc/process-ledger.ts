// Process accounting for crash recovery: every codex process the plugin starts is recorded in
// `<state_dir>/processes/<pid>-<start time>.json`, with the descendants found while it ran, until it
// has exited and been reaped. A plugin that dies without cleaning up (SIGKILL, OOM, a host that
// killed it, a crash) leaves the records behind, and its codex processes keep running: codex runs
// in its own session, and the commands it starts run in sessions of their own. The next plugin
// instance that uses the state dir reaps them (process-reaper.ts).
import { mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

import type { Logger } from "pino";

import { type ProcessInfo, readBootId, readProcessInfoSync } from "./process-tree.js";
import type { ProcessAccounting } from "./supervise.js";

export const LEDGER_DIR_NAME = "processes";
export const RECORD_VERSION = 1;

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

/** This boot and this plugin process, as the records name them. */
export interface LedgerIdentity {
  bootId: string;
  self: { pid: number; start_time: string };
}

/** The identity of the running plugin; "" fields where /proc is unavailable. */
export function currentIdentity(): LedgerIdentity {
  return {
    bootId: readBootId(),
    self: { pid: process.pid, start_time: readProcessInfoSync("self")?.startTime ?? "" },
  };
}

/** A process as a record holds it. */
export function toLedger(info: ProcessInfo): LedgerProcess {
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
  readonly #identity: LedgerIdentity;
  #warned = false;

  constructor(stateDir: string, options: { logger?: Logger; identity?: LedgerIdentity } = {}) {
    this.dir = join(stateDir, LEDGER_DIR_NAME);
    this.#logger = options.logger;
    this.#identity = options.identity ?? currentIdentity();
  }

  /** Bookkeeping for one child about to be spawned; pass it to superviseProcess. */
  track(meta: { agentId?: string } = {}): ProcessAccounting {
    let record: LedgerRecord | undefined;
    let path: string | undefined;
    const known = new Set<number>();
    return {
      spawned: (pid, runMarker) => {
        const info = readProcessInfoSync(pid);
        const { bootId, self } = this.#identity;
        // Without /proc there is no start time, and without one a pid cannot be killed safely later.
        if (info === undefined || bootId === "" || self.start_time === "") return;
        record = {
          version: RECORD_VERSION,
          boot_id: bootId,
          owner: self,
          process: toLedger(info),
          run_marker: runMarker,
          started_at: new Date().toISOString(),
          descendants: [],
          ...(meta.agentId === undefined ? {} : { agent_id: meta.agentId }),
        };
        path = join(this.dir, `${pid}-${info.startTime}.json`);
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
