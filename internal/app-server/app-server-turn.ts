// One codex run on a pooled app-server: loads the thread (thread/start, or thread/resume after
// making sure no other server holds it and the loaded copy is not older than its rollout), starts
// the turn, queues its notifications as events, and stops it on abort: turn/interrupt, then the
// turn's commands killed as groups, then the whole server restarted. The queue is bounded: when it
// is full, the server's output is not read, so a slow host slows codex and memory stays bounded.
import { readFile, stat } from "node:fs/promises";
import { performance } from "node:perf_hooks";

import { emptyUsage, type Usage } from "../core/usage.js";
import {
  descendantsStartedSince,
  killProcesses,
  ticksSinceBoot,
} from "../proc/started-descendants.js";
import type { BackendBatch, BackendEvent, BackendExit, CodexRun } from "../turn/codex-backend.js";
import { isAppServerError } from "./app-server-error.js";
import type { AppServerPool, PooledServer, ServerSpec } from "./app-server-pool.js";
import type { ServerNotificationMessage } from "./protocol-methods.js";
import { TurnNotificationMapper } from "./turn-notification-mapper.js";
import {
  threadConfigKey,
  threadResumeParams,
  threadStartParams,
  turnStartParams,
} from "./turn-params.js";

export interface AppServerTurnOptions {
  pool: AppServerPool;
  spec: ServerSpec;
  serverMeta: Parameters<AppServerPool["acquire"]>[1];
  /** turn/interrupt → killing the turn's commands. */
  interruptGraceMs: number;
  /** Killing the commands → restarting the server. */
  terminateGraceMs: number;
  /** Events held before the server's output stops being read. */
  queueLimit: number;
}

type Ending = Pick<BackendExit, "exitCode" | "fatalMessage" | "crash" | "spawnError">;

/** A running turn; `batches` and `exit` as in BackendRun. */
export class AppServerTurn {
  readonly exit: Promise<BackendExit>;
  readonly #run: CodexRun;
  readonly #options: AppServerTurnOptions;
  readonly #signal: AbortSignal;
  readonly #mapper = new TurnNotificationMapper();
  readonly #queue: BackendEvent[] = [];
  readonly #startedAt = performance.now();
  /** When the turn began, in clock ticks since boot: what the server starts later is the turn's. */
  #sinceTicks: number | undefined;
  #wake: (() => void) | undefined;
  #ending: Ending | undefined;
  #server: PooledServer | undefined;
  #threadId: string | undefined;
  #turnId: string | undefined;
  #paused = false;
  #settle: (() => void) | undefined;
  #stopping: Promise<void> | undefined;
  #ended: Promise<void> = Promise.resolve();
  /** Stops the turn from inside (the consumer stopped reading). */
  #stopRequested: ((reason: string) => void) | undefined;

  constructor(run: CodexRun, signal: AbortSignal, options: AppServerTurnOptions) {
    this.#run = run;
    this.#signal = signal;
    this.#options = options;
    this.exit = this.#drive().then(() => this.#exit());
  }

  /** The queued events, one batch per wake-up; ending early interrupts the turn. */
  async *batches(): AsyncGenerator<BackendBatch, void, undefined> {
    let finished = false;
    try {
      for (;;) {
        if (this.#queue.length === 0) {
          if (this.#ending !== undefined) break;
          await new Promise<void>((resolve) => (this.#wake = resolve));
          this.#wake = undefined;
          continue;
        }
        const events = this.#queue.splice(0, this.#queue.length);
        this.#resumeReading();
        yield { events, caughtUp: this.#queue.length === 0 };
      }
      finished = true;
    } finally {
      if (!finished) this.#stopRequested?.("the consumer stopped reading");
    }
  }

  async #drive(): Promise<void> {
    const { pool, spec, serverMeta } = this.#options;
    const run = this.#run;
    const stopped = new AbortController();
    this.#stopRequested = (reason) => stopped.abort(new Error(reason));
    const onAbort = (): void => stopped.abort(this.#signal.reason);
    this.#signal.addEventListener("abort", onAbort, { once: true });
    if (this.#signal.aborted) onAbort();
    let server: PooledServer;
    try {
      server = await pool.acquire(spec, serverMeta, stopped.signal);
    } catch (error) {
      this.#end(startFailure(error, stopped.signal.aborted));
      this.#signal.removeEventListener("abort", onAbort);
      return;
    }
    this.#server = server;
    this.#sinceTicks = ticksSinceBoot();
    const client = server.client;
    const unsubscribe = client.onNotification((notification) => this.#take(notification));
    const ended = new Promise<void>((resolve) => (this.#settle = resolve));
    this.#ended = ended;
    const offExit = server.onExit(() => {
      this.#end({
        exitCode: undefined,
        fatalMessage: undefined,
        spawnError: undefined,
        crash: {
          code: "APP_SERVER_EXITED",
          message: `${server.exitMessage ?? "codex app-server exited"} while it ran this turn`,
        },
      });
    });
    try {
      const threadId = await this.#loadThread(server, stopped.signal);
      if (threadId === undefined) return;
      const schema = await readSchema(run.outputSchemaPath);
      // Not abortable: a turn codex started must be known to be interrupted.
      const started = await client.request("turn/start", turnStartParams(run, threadId, schema));
      this.#turnId = started.turn.id;
      const stop = (): void => {
        this.#stopping ??= this.#interrupt(server);
      };
      if (stopped.signal.aborted) stop();
      else stopped.signal.addEventListener("abort", stop, { once: true });
      await ended;
      // A stopped turn is over once its commands are gone too.
      await this.#stopping;
    } catch (error) {
      this.#end(callFailure(error));
    } finally {
      unsubscribe();
      offExit();
      this.#signal.removeEventListener("abort", onAbort);
      this.#resumeReading();
      await this.#remember(server);
      pool.release(server);
    }
  }

  // thread/start or thread/resume; undefined when the turn already ended.
  async #loadThread(server: PooledServer, signal: AbortSignal): Promise<string | undefined> {
    const { client } = server;
    const run = this.#run;
    const resumeId = run.resumeThreadId;
    if (resumeId === undefined) {
      const started = await client.request("thread/start", threadStartParams(run), { signal });
      this.#mapper.startFrom(emptyUsage());
      return this.#threadStarted(server, started.thread.id, started.thread.path);
    }
    // Another server may hold it (a different spec, e.g. after a config change): unload it there.
    for (const holder of this.#options.pool.holders(resumeId, server)) {
      await this.#options.pool.unload(holder, resumeId, signal);
    }
    const loaded = server.loaded.get(resumeId);
    if (loaded !== undefined) {
      // Consume rewrote the rollout, or an exec turn appended to it: the copy in memory is stale.
      // Or the run's host-tool bridge is not the one the thread was loaded with (the turn before
      // had no host tools, or this one has none): only a fresh load takes the thread's config.
      const fresh = (await stampOf(loaded.path)) === loaded.stamp;
      if (fresh && loaded.config === threadConfigKey(run)) {
        if (loaded.total !== undefined) this.#mapper.startFrom(loaded.total);
        return this.#threadStarted(server, resumeId, loaded.path, loaded.total);
      }
      await this.#options.pool.unload(server, resumeId, signal);
    }
    try {
      const resumed = await client.request("thread/resume", threadResumeParams(run, resumeId), {
        signal,
      });
      return this.#threadStarted(server, resumed.thread.id, resumed.thread.path);
    } catch (error) {
      if (!isAppServerError(error) || error.code !== "RPC_ERROR") throw error;
      // As exec's "Error: thread/resume: …" on stderr with exit 1: the engine decides thread_lost.
      this.#end({
        exitCode: 1,
        fatalMessage: error.message,
        spawnError: undefined,
        crash: undefined,
      });
      return undefined;
    }
  }

  #threadStarted(
    server: PooledServer,
    threadId: string,
    path: string | null | undefined,
    total?: Usage,
  ): string {
    this.#threadId = threadId;
    server.loaded.set(threadId, {
      path: path ?? undefined,
      stamp: undefined,
      config: threadConfigKey(this.#run),
      total,
    });
    this.#push([{ kind: "thread_started", threadId }]);
    return threadId;
  }

  #take(notification: ServerNotificationMessage): void {
    const params = (notification.params ?? {}) as Record<string, unknown>;
    if (this.#threadId === undefined || params["threadId"] !== this.#threadId) return;
    if (this.#ending !== undefined) return;
    const turnId = params["turnId"] ?? (params["turn"] as { id?: unknown } | undefined)?.id;
    if (turnId !== undefined && this.#turnId !== undefined && turnId !== this.#turnId) return;
    const { method } = notification;
    // A thread being loaded may report its restored usage: not this turn's model requests.
    if (this.#turnId === undefined && method === "thread/tokenUsage/updated") {
      this.#mapper.restored(params["tokenUsage"]);
      return;
    }
    this.#push(this.#mapper.map(method, params));
    if (this.#mapper.ended) {
      this.#end({ exitCode: 0, fatalMessage: undefined, spawnError: undefined, crash: undefined });
    }
  }

  #push(events: readonly BackendEvent[]): void {
    if (events.length === 0) return;
    this.#queue.push(...events);
    if (!this.#paused && this.#queue.length >= this.#options.queueLimit) {
      this.#paused = true;
      this.#server?.client.pauseReading();
    }
    this.#wake?.();
  }

  #resumeReading(): void {
    if (!this.#paused) return;
    this.#paused = false;
    this.#server?.client.resumeReading();
  }

  // The first ending wins.
  #end(ending: Ending): void {
    if (this.#ending !== undefined) return;
    this.#ending = ending;
    this.#settle?.();
    this.#wake?.();
  }

  // Abort: a clean interrupt first; then the turn's commands as groups (codex's interrupt leaves a
  // command's background children, and a child ignoring SIGTERM); then, if the turn still has not
  // ended, the whole server.
  async #interrupt(server: PooledServer): Promise<void> {
    const { client } = server;
    const threadId = this.#threadId;
    const turnId = this.#turnId;
    if (threadId === undefined || turnId === undefined) return;
    if (this.#ending === undefined) {
      void client.request("turn/interrupt", { threadId, turnId }).catch(() => undefined);
      await this.#endsWithin(this.#options.interruptGraceMs);
    }
    await this.#killCommands(server);
    if (this.#ending !== undefined) return;
    if (await this.#endsWithin(this.#options.terminateGraceMs)) return;
    await this.#options.pool.restart(server, "a turn did not end after turn/interrupt");
  }

  // What codex started for this turn and left running (its interrupt leaves background
  // terminals and their children): SIGTERM, then SIGKILL after the terminate grace. Other turns on
  // the same server keep theirs: with company, only processes working under this turn's cwd go.
  async #killCommands(server: PooledServer): Promise<void> {
    const pid = server.client.pid;
    if (pid === undefined || this.#sinceTicks === undefined) return;
    const dir = server.busy > 1 ? this.#run.cwd : undefined;
    const found = await descendantsStartedSince(pid, this.#sinceTicks, dir);
    await killProcesses(found, this.#options.terminateGraceMs);
  }

  async #endsWithin(ms: number): Promise<boolean> {
    if (this.#ending !== undefined) return true;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), ms);
    });
    const ended = this.#ended.then(() => true);
    const result = await Promise.race([ended, timeout]);
    clearTimeout(timer);
    return result || this.#ending !== undefined;
  }

  // After the turn: the rollout's identity as this server left it, to notice a rewrite later.
  async #remember(server: PooledServer): Promise<void> {
    const threadId = this.#threadId;
    if (threadId === undefined) return;
    const loaded = server.loaded.get(threadId);
    if (loaded === undefined) return;
    loaded.stamp = await stampOf(loaded.path);
    loaded.total = this.#mapper.tokens.total;
  }

  #exit(): BackendExit {
    const ending = this.#ending ?? {
      exitCode: undefined,
      fatalMessage: undefined,
      spawnError: undefined,
      crash: undefined,
    };
    return {
      exitCode: ending.exitCode,
      signal: undefined,
      // The server's stderr is shared by its turns; its tail is in the plugin's log.
      stderrTail: "",
      spawnError: ending.spawnError,
      durationMs: performance.now() - this.#startedAt,
      fatalMessage: ending.fatalMessage ?? this.#mapper.lastFatalMessage,
      retryMessage: this.#mapper.lastRetryMessage,
      crash: ending.crash,
    };
  }
}

// A file's identity and size: an atomic rewrite changes the inode, an append the size.
async function stampOf(path: string | undefined): Promise<string | undefined> {
  if (path === undefined) return undefined;
  try {
    const info = await stat(path);
    return `${info.dev}:${info.ino}:${info.size}:${info.mtimeMs}`;
  } catch {
    return undefined;
  }
}

function startFailure(error: unknown, aborted: boolean): Ending {
  const message = error instanceof Error ? error.message : String(error);
  if (aborted) {
    return {
      exitCode: undefined,
      fatalMessage: undefined,
      spawnError: undefined,
      crash: undefined,
    };
  }
  if (isAppServerError(error) && error.code === "SPAWN_FAILED") {
    return {
      exitCode: undefined,
      fatalMessage: undefined,
      spawnError: { code: "SPAWN_FAILED", message },
      crash: undefined,
    };
  }
  return {
    exitCode: undefined,
    fatalMessage: undefined,
    spawnError: undefined,
    crash: { code: "APP_SERVER_EXITED", message },
  };
}

function callFailure(error: unknown): Ending {
  const message = error instanceof Error ? error.message : String(error);
  if (isAppServerError(error) && error.code === "RPC_ERROR") {
    return { exitCode: 1, fatalMessage: message, spawnError: undefined, crash: undefined };
  }
  if (isAppServerError(error) && error.code === "ABORTED") {
    return {
      exitCode: undefined,
      fatalMessage: undefined,
      spawnError: undefined,
      crash: undefined,
    };
  }
  return {
    exitCode: undefined,
    fatalMessage: undefined,
    spawnError: undefined,
    crash: { code: "APP_SERVER_EXITED", message },
  };
}

// The turn's output schema file (written by the engine, checked there), as turn/start wants it.
async function readSchema(path: string | undefined): Promise<unknown> {
  if (path === undefined) return undefined;
  return JSON.parse(await readFile(path, "utf8")) as unknown;
}
