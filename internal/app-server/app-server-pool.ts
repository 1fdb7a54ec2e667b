// The long-lived `codex app-server` processes of the plugin: one per server spec (codex binary,
// CODEX_HOME, sqlite home, environment, process-level `-c` overrides), which in practice is one per
// CODEX_HOME, shared by its agents (each thread carries its agent's host-tool bridge itself). Started on first use, restarted with backoff after a death,
// stopped when idle and on shutdown. Also the registry of which server has which thread loaded, so
// a thread is never loaded in two servers (two writers of one rollout).
import { createHash } from "node:crypto";
import { stat } from "node:fs/promises";
import { join } from "node:path";

import type { Logger } from "pino";

import type { Usage } from "../core/usage.js";
import type { ProcessLedger } from "../proc/process-ledger.js";
import type { ProcessRegistry } from "../proc/process-registry.js";
import type { ProcessScanner } from "../proc/process-scanner.js";
import type { ProcessResult } from "../proc/supervise.js";
import { AppServerClient } from "./app-server-client.js";

/** Everything a server process is started with; two equal specs share one server. */
export interface ServerSpec {
  codexPath: string;
  /** The server's whole environment (secrets live only here, never in argv or logs). */
  env: Record<string, string>;
  /** `key=value` overrides passed as `-c`, in order. */
  configOverrides: readonly string[];
  /** The directory the server runs in (turns pass their own cwd); not part of the key. */
  cwd: string;
}

export interface AppServerPoolOptions {
  processes: ProcessRegistry;
  scanner: ProcessScanner;
  interruptGraceMs: number;
  terminateGraceMs: number;
  logger: Logger;
  clientInfo: { name: string; version: string };
  /** Restart backoff: the first restart after a death waits this long, doubling up to 5 s. */
  restartBackoffMs?: number;
}

/** A thread a server has loaded. */
export interface LoadedThread {
  path: string | undefined;
  /** The rollout's identity when the server last wrote it. */
  stamp: string | undefined;
  /** The thread's own config it was loaded with (JSON): a loaded thread ignores a resume's. */
  config: string;
  /** The thread's cumulative usage after the server's last turn on it. */
  total?: Usage | undefined;
}

/** A started server and what the pool knows about it. */
export class PooledServer {
  readonly client: AppServerClient;
  readonly key: string;
  /** Threads this server has loaded, with the rollout's identity when the server last saw it. */
  readonly loaded = new Map<string, LoadedThread>();
  /** Turns running on it. */
  busy = 0;
  idleTimer: NodeJS.Timeout | undefined;
  /** How long it may stay idle (the last acquirer's config). */
  idleMs = 0;
  /** The pool is stopping it on purpose. */
  stopping = false;
  /** Set once it exited (why, for the turns it ran). */
  exitMessage: string | undefined;

  readonly #exitListeners = new Set<() => void>();
  #gone = false;

  constructor(client: AppServerClient, key: string) {
    this.client = client;
    this.key = key;
  }

  /** Calls `listener` when the server exits; returns the unsubscribe function. */
  onExit(listener: () => void): () => void {
    if (this.#gone) listener();
    this.#exitListeners.add(listener);
    return () => this.#exitListeners.delete(listener);
  }

  /** The server exited: tells the turns that were running on it. */
  exited(message: string): void {
    this.exitMessage ??= message;
    this.#gone = true;
    for (const listener of [...this.#exitListeners]) listener();
  }
}

const MAX_BACKOFF_MS = 5_000;
/** A server that lived this long resets its key's backoff. */
const HEALTHY_AFTER_MS = 60_000;

/** The plugin's app-servers. */
export class AppServerPool {
  readonly #options: AppServerPoolOptions;
  readonly #servers = new Map<string, Promise<PooledServer>>();
  readonly #failures = new Map<string, { count: number; at: number }>();
  /** The servers whose start has completed and that have not exited. */
  readonly #settled: PooledServer[] = [];
  #closed = false;

  constructor(options: AppServerPoolOptions) {
    this.#options = options;
  }

  /**
   * The server for `spec`, started if needed, with one more turn counted on it (release() when the
   * turn is over). Throws an AppServerError when it cannot be started.
   */
  async acquire(
    spec: ServerSpec,
    meta: { ledger?: ProcessLedger | undefined; idleMs: number },
    signal: AbortSignal,
  ): Promise<PooledServer> {
    if (this.#closed) throw new Error("the plugin is shutting down");
    const key = keyOf(spec, await homeStamps(spec.env["CODEX_HOME"]));
    // The live server of the key, or a new one in place of a missing or dead one (once, however
    // many turns ask at the same time).
    let pending = this.#servers.get(key);
    for (;;) {
      const existing = pending === undefined ? undefined : await pending.catch(() => undefined);
      if (existing !== undefined && existing.exitMessage === undefined) break;
      const current = this.#servers.get(key);
      if (current === pending) {
        const started = this.#start(spec, key, meta, signal);
        this.#servers.set(key, started);
        started.catch(() => {
          if (this.#servers.get(key) === started) this.#servers.delete(key);
        });
        pending = started;
        break;
      }
      pending = current;
    }
    const server = await (pending as Promise<PooledServer>);
    clearTimeout(server.idleTimer);
    server.idleTimer = undefined;
    server.busy += 1;
    server.idleMs = meta.idleMs;
    return server;
  }

  /** One turn on `server` is over; an idle server stops after its idle time. */
  release(server: PooledServer): void {
    server.busy = Math.max(0, server.busy - 1);
    if (server.busy > 0 || server.exitMessage !== undefined) return;
    const idleMs = server.idleMs;
    if (idleMs <= 0) return;
    clearTimeout(server.idleTimer);
    server.idleTimer = setTimeout(() => {
      if (server.busy === 0) void this.#stop(server, `idle for ${idleMs} ms`);
    }, idleMs);
    server.idleTimer.unref();
  }

  /** The live servers other than `except` that have `threadId` loaded. */
  holders(threadId: string, except: PooledServer): PooledServer[] {
    return this.#live().filter((server) => server !== except && server.loaded.has(threadId));
  }

  /**
   * Unloads `threadId` from `server`: archive, then unarchive (thread/unsubscribe keeps a thread
   * loaded, research §9.1); the next turn resumes it from its rollout. A server that cannot do it
   * and runs no turn is stopped instead (a server that never held the thread is as good).
   */
  async unload(server: PooledServer, threadId: string, signal?: AbortSignal): Promise<void> {
    try {
      await server.client.request("thread/archive", { threadId }, { signal });
      const back = await server.client.request("thread/unarchive", { threadId }, { signal });
      const before = server.loaded.get(threadId)?.path;
      if (before !== undefined && back.thread.path !== before) {
        this.#options.logger.warn(
          { thread_id: threadId, before, after: back.thread.path },
          "thread/unarchive moved the rollout",
        );
      }
      server.loaded.delete(threadId);
    } catch (error) {
      if (server.busy > 0 && server.exitMessage === undefined) throw error;
      this.#options.logger.warn({ err: error, thread_id: threadId }, "unloading a thread failed");
      server.loaded.delete(threadId);
      await this.#stop(server, "a thread could not be unloaded");
    }
  }

  /** Unloads `threadId` from every server (before Consume rewrites it, or a compaction opens it). */
  async releaseThread(threadId: string): Promise<void> {
    await Promise.all(
      this.#live()
        .filter((server) => server.loaded.has(threadId))
        .map((server) => this.unload(server, threadId)),
    );
  }

  /** Stops a server now (a turn that would not end): its turns end with APP_SERVER_EXITED. */
  async restart(server: PooledServer, reason: string): Promise<void> {
    await this.#stop(server, reason, true);
  }

  /** Stops every server (Shutdown). */
  async shutdown(reason: string): Promise<void> {
    this.#closed = true;
    const servers = await Promise.all(
      [...this.#servers.values()].map((pending) => pending.catch(() => undefined)),
    );
    await Promise.all(
      servers.map((server) =>
        server === undefined ? undefined : this.#stop(server, reason, true),
      ),
    );
  }

  #live(): PooledServer[] {
    return this.#settled.filter((server) => server.exitMessage === undefined);
  }

  async #start(
    spec: ServerSpec,
    key: string,
    meta: { ledger?: ProcessLedger | undefined },
    signal: AbortSignal,
  ): Promise<PooledServer> {
    const options = this.#options;
    await this.#backoff(key, signal);
    const logger = options.logger.child({ app_server: key.slice(0, 12) });
    const startedAt = Date.now();
    const client = await AppServerClient.start(
      {
        codexPath: spec.codexPath,
        configOverrides: spec.configOverrides,
        cwd: spec.cwd,
        env: spec.env,
        interruptGraceMs: options.interruptGraceMs,
        terminateGraceMs: options.terminateGraceMs,
        processes: options.processes,
        scanner: options.scanner,
        accounting: meta.ledger?.track({}),
        logger,
        clientInfo: options.clientInfo,
      },
      signal,
    ).catch((error: unknown) => {
      this.#failed(key);
      throw error;
    });
    const server = new PooledServer(client, key);
    this.#settled.push(server);
    logger.info({ pid: client.pid }, "codex app-server started");
    void client.exited.then((result) => {
      server.exited(exitMessage(result));
      clearTimeout(server.idleTimer);
      const index = this.#settled.indexOf(server);
      if (index !== -1) this.#settled.splice(index, 1);
      // Forget the key's entry if it is still this server (a changed auth.json makes new keys).
      const entry = this.#servers.get(key);
      void entry?.then(
        (current) => {
          if (current === server && this.#servers.get(key) === entry) this.#servers.delete(key);
        },
        () => undefined,
      );
      if (Date.now() - startedAt >= HEALTHY_AFTER_MS) this.#failures.delete(key);
      else if (!server.stopping) this.#failed(key);
      logger.info(
        { exit_code: result.exitCode, signal: result.signal, turns: server.busy },
        "codex app-server exited",
      );
    });
    return server;
  }

  async #stop(server: PooledServer, reason: string, kill = false): Promise<void> {
    server.stopping = true;
    server.exitMessage ??= `codex app-server stopped: ${reason}`;
    clearTimeout(server.idleTimer);
    if (kill) await server.client.kill(reason, this.#options.terminateGraceMs);
    else await server.client.close(reason);
  }

  #failed(key: string): void {
    const previous = this.#failures.get(key);
    this.#failures.set(key, { count: (previous?.count ?? 0) + 1, at: Date.now() });
  }

  // After a death, the next start waits: 0 for the first restart, then doubling.
  async #backoff(key: string, signal: AbortSignal): Promise<void> {
    const failure = this.#failures.get(key);
    if (failure === undefined || failure.count < 2) return;
    const base = this.#options.restartBackoffMs ?? 250;
    const wait = Math.min(MAX_BACKOFF_MS, base * 2 ** (failure.count - 2));
    const remaining = failure.at + wait - Date.now();
    if (remaining <= 0) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, remaining);
      timer.unref();
      signal.addEventListener("abort", done, { once: true });
      function done(): void {
        clearTimeout(timer);
        signal.removeEventListener("abort", done);
        resolve();
      }
    });
  }
}

// A digest, so the key (which holds the environment, secrets included) is never kept as text.
function keyOf(spec: ServerSpec, stamps: readonly string[]): string {
  const env = Object.entries(spec.env).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return createHash("sha256")
    .update(JSON.stringify([spec.codexPath, spec.configOverrides, env, stamps]))
    .digest("hex");
}

// codex reads auth.json and config.toml once, at start: a rotated key or a changed config.toml
// (per_agent_codex_home copies the operator's when it changes) needs a new server, as exec gets.
async function homeStamps(codexHome: string | undefined): Promise<string[]> {
  if (codexHome === undefined) return [];
  return Promise.all(
    ["auth.json", "config.toml"].map(async (name) => {
      try {
        const info = await stat(join(codexHome, name));
        return `${info.ino}:${info.size}:${info.mtimeMs}`;
      } catch {
        return "";
      }
    }),
  );
}

function exitMessage(result: ProcessResult): string {
  const status =
    result.spawnError !== undefined
      ? `could not start: ${result.spawnError.message}`
      : result.signal === undefined
        ? `exit code ${result.exitCode}`
        : `signal ${result.signal}`;
  return `codex app-server exited (${status})`;
}
