// Every live supervised process, so plugin shutdown can kill them all. go-plugin gives the plugin
// 2 s after Shutdown before it is killed itself, so shutdown escalates fast. The owner (the
// provider) creates one registry and passes it down.
import { waitAtMost } from "../core/delay.js";

/** What the registry needs from a supervised process. */
export interface TrackedProcess {
  /** SIGTERM to the group and known descendants now, SIGKILL shortly after. */
  forceKill(reason: string, killAfterMs: number): void;
  /** Synchronous SIGKILL of the group and known descendants; for process exit. */
  killNowSync(): void;
  /** Settles once the process has exited and been reaped. */
  readonly done: Promise<unknown>;
}

export const SHUTDOWN_TERM_TO_KILL_MS = 500;
export const SHUTDOWN_BUDGET_MS = 1000;

/** The live processes of one plugin. */
export class ProcessRegistry {
  readonly #live = new Set<TrackedProcess>();
  #exitHookInstalled = false;

  /** Tracks `tracked` until the returned function is called. */
  register(tracked: TrackedProcess): () => void {
    this.#installExitHook();
    this.#live.add(tracked);
    return () => {
      this.#live.delete(tracked);
    };
  }

  /** How many supervised processes are alive. */
  get size(): number {
    return this.#live.size;
  }

  /**
   * Terminates every live process group: SIGTERM at once, SIGKILL after 500 ms; resolves when all
   * have exited or after about 1 s, whichever is first. Never rejects.
   */
  async killAll(): Promise<void> {
    const targets = [...this.#live];
    if (targets.length === 0) return;
    for (const target of targets) target.forceKill("plugin shutdown", SHUTDOWN_TERM_TO_KILL_MS);
    await waitAtMost(Promise.allSettled(targets.map((target) => target.done)), SHUTDOWN_BUDGET_MS);
  }

  // Detached children outlive the plugin unless killed; 'exit' handlers must be synchronous.
  #installExitHook(): void {
    if (this.#exitHookInstalled) return;
    this.#exitHookInstalled = true;
    process.on("exit", () => {
      for (const target of this.#live) target.killNowSync();
    });
  }
}
