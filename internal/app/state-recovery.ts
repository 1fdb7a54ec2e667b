// Start-up recovery, once per state dir and plugin process, awaited before any turn there: kills
// what an earlier plugin instance left running after a crash, removes the temp files of thread and
// usage writes it was killed in the middle of, and (once) the scratch directories of dead plugins.
import type { Logger } from "pino";

import { reapLeftovers } from "../proc/process-reaper.js";
import type { ThreadStore } from "../store/thread-store.js";
import { sweepStaleScratch } from "../turn/turn-setup.js";

/** Recovers each state dir once. */
export class StateRecovery {
  readonly #logger: Logger;
  readonly #recovered = new Map<string, Promise<void>>();
  #scratchSwept = false;

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  /** Recovers `stateDir` unless it was already; never throws. */
  recover(stateDir: string, store: ThreadStore): Promise<void> {
    let recovery = this.#recovered.get(stateDir);
    if (recovery === undefined) {
      const sweep = this.#scratchSwept ? undefined : sweepStaleScratch().catch(() => undefined);
      this.#scratchSwept = true;
      recovery = Promise.all([this.#recover(stateDir, store), sweep]).then(() => undefined);
      this.#recovered.set(stateDir, recovery);
    }
    return recovery;
  }

  async #recover(stateDir: string, store: ThreadStore): Promise<void> {
    try {
      const [reaped, temps] = await Promise.all([
        reapLeftovers(stateDir, { logger: this.#logger }),
        store.cleanStaleTemps(),
      ]);
      this.#logger.info(
        {
          state_dir: stateDir,
          process_records: reaped.records,
          killed: reaped.killed.length,
          survivors: reaped.survivors.length,
          stale_temp_files: temps,
        },
        "state dir recovered",
      );
    } catch (error) {
      this.#logger.warn({ err: error, state_dir: stateDir }, "state dir recovery failed");
    }
  }
}
