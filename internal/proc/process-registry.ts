// Every live supervised process, so plugin shutdown can kill them all. go-plugin gives the plugin
// 2 s after Shutdown before it is killed itself, so shutdown escalates fast.

/** What the registry needs from a supervised process. */
export interface TrackedProcess {
  /** SIGTERM to the group and known descendants now, SIGKILL shortly after. */
  forceKill(reason: string, killAfterMs: number): void;
  /** Synchronous SIGKILL of the group and known descendants; for process exit. */
  killNowSync(): void;
  /** Settles once the process has exited and been reaped. */
  readonly done: Promise<unknown>;
}

const live = new Set<TrackedProcess>();
let exitHookInstalled = false;

/** Tracks `process` until the returned function is called. */
export function registerProcess(process_: TrackedProcess): () => void {
  installExitHook();
  live.add(process_);
  return () => {
    live.delete(process_);
  };
}

/** How many supervised processes are alive. */
export function liveProcessCount(): number {
  return live.size;
}

export const SHUTDOWN_TERM_TO_KILL_MS = 500;
export const SHUTDOWN_BUDGET_MS = 1000;

/**
 * Terminates every live process group: SIGTERM at once, SIGKILL after 500 ms, resolves when all
 * have exited or after about 1 s, whichever is first. Never rejects.
 */
export async function killAllProcessGroups(): Promise<void> {
  const targets = [...live];
  if (targets.length === 0) return;
  for (const target of targets) target.forceKill("plugin shutdown", SHUTDOWN_TERM_TO_KILL_MS);
  let timer: NodeJS.Timeout | undefined;
  const budget = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, SHUTDOWN_BUDGET_MS);
    timer.unref();
  });
  await Promise.race([Promise.allSettled(targets.map((target) => target.done)), budget]);
  clearTimeout(timer);
}

// Detached children outlive the plugin unless killed; 'exit' handlers must be synchronous.
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on("exit", () => {
    for (const target of live) target.killNowSync();
  });
}
