// One periodic /proc scan shared by every supervised process, so many concurrent turns cost one
// walk of the process table per tick. The owner (the provider) creates it and passes it down.
import { type ProcessInfo, readProcessTable } from "./process-tree.js";

type Listener = (table: readonly ProcessInfo[]) => void;

/** Calls its subscribers with the process table every tick while any is subscribed. */
export class ProcessScanner {
  readonly #listeners = new Set<Listener>();
  readonly #intervalMs: number;
  #timer: NodeJS.Timeout | undefined;
  #scanning = false;

  constructor(intervalMs = DEFAULT_SCAN_MS) {
    this.#intervalMs = intervalMs;
  }

  /** Calls `listener` every tick until the returned function is called. */
  subscribe(listener: Listener): () => void {
    this.#listeners.add(listener);
    if (this.#timer === undefined) {
      this.#timer = setInterval(() => void this.#scan(), this.#intervalMs);
      this.#timer.unref();
    }
    return () => {
      this.#listeners.delete(listener);
      if (this.#listeners.size === 0 && this.#timer !== undefined) {
        clearInterval(this.#timer);
        this.#timer = undefined;
      }
    };
  }

  async #scan(): Promise<void> {
    if (this.#scanning) return;
    this.#scanning = true;
    try {
      const table = await readProcessTable();
      for (const listener of this.#listeners) listener(table);
    } finally {
      this.#scanning = false;
    }
  }
}

/** How often descendants are recorded while codex runs. */
export const DEFAULT_SCAN_MS = 1000;
