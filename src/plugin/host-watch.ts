/** Options for {@link watchHost}. */
export interface WatchHostOptions {
  /** Called once, with a short description, when the host appears to be gone. */
  onGone: (cause: string) => void;
  /** Parent pid poll interval; default 500 ms. */
  intervalMs?: number;
  /**
   * The host's pid, read as early as possible; default `process.ppid` now. Reading it late can
   * miss a host that died during startup, whose orphan already reports its new parent.
   */
  parentPid?: number;
  /** Streams whose EPIPE errors mean the host closed our pipes (stdout, stderr, a log stream). */
  streams?: readonly NodeJS.EventEmitter[];
}

/**
 * Detects that the host process went away. go-plugin never tells a plugin that its host died: the
 * plugin is re-parented (its parent pid changes) and its stdio pipes break (EPIPE on the next
 * write). Both are watched; the poll timer is unref'd so it never keeps the process alive.
 *
 * @returns A function that stops the parent pid poll.
 */
export function watchHost(options: WatchHostOptions): () => void {
  let fired = false;
  const fire = (cause: string): void => {
    if (fired) return;
    fired = true;
    stop();
    options.onGone(cause);
  };

  const initialParent = options.parentPid ?? process.ppid;
  const timer = setInterval(() => {
    if (process.ppid !== initialParent) fire(`parent process ${initialParent} is gone`);
  }, options.intervalMs ?? 500);
  timer.unref();

  const onError = (error: unknown): void => {
    if ((error as { code?: unknown } | null)?.code === "EPIPE") fire("broken pipe to the host");
  };
  const streams = options.streams ?? [];
  for (const stream of streams) stream.on("error", onError);

  // The error listeners stay attached after stop(): without one, a later EPIPE on stdout or stderr
  // would be an unhandled 'error' event and crash the process mid-shutdown.
  function stop(): void {
    clearInterval(timer);
  }
  return stop;
}
