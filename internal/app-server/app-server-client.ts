// A client of `codex app-server` over stdio: starts the server through the process toolkit (its
// own process group, the registry, the ledger, the SIGINT → SIGTERM → SIGKILL escalation), says
// `initialize` + `initialized`, then offers typed requests, notifications and answers to the
// server's requests. A dead server rejects every pending call with SERVER_EXITED (exit status and
// stderr tail in the message). Built to carry a long-lived server too: nothing here is per-call.
import type { Logger } from "pino";

import type { ProcessRegistry } from "../proc/process-registry.js";
import type { ProcessScanner } from "../proc/process-scanner.js";
import type { ProcessAccounting, ProcessResult, SupervisedProcess } from "../proc/supervise.js";
import { superviseProcess } from "../proc/supervise.js";
import { AppServerError } from "./app-server-error.js";
import {
  type CallOptions,
  JsonRpcConnection,
  type ProtocolProblem,
} from "./json-rpc-connection.js";
import type {
  ClientMethod,
  ClientParams,
  ClientResults,
  ServerNotificationMessage,
} from "./protocol-methods.js";
import { defaultServerRequestAnswer } from "./server-requests.js";

/** How long `initialize` may take; the measured cold start is about 0.2 s. */
export const DEFAULT_INITIALIZE_TIMEOUT_MS = 30_000;
/** After stdin closes, how long the server may take to exit by itself (measured: ~40 ms). */
export const DEFAULT_CLOSE_GRACE_MS = 2_000;

export interface AppServerClientOptions {
  /** The codex executable. */
  codexPath: string;
  /** `key=value` config overrides, passed as `-c` (later wins). */
  configOverrides: readonly string[];
  /** The server's working directory. */
  cwd: string;
  /** The server's whole environment (child-env.ts builds it; secrets live only here). */
  env: Record<string, string>;
  /** SIGINT → SIGTERM to the group. */
  interruptGraceMs: number;
  /** SIGTERM → SIGKILL to the group. */
  terminateGraceMs: number;
  processes: ProcessRegistry;
  scanner: ProcessScanner;
  /** The process ledger's record of this server, for the boot reaper. */
  accounting?: ProcessAccounting | undefined;
  logger: Logger;
  /** Sent in `initialize.clientInfo`. */
  clientInfo: { name: string; version: string };
  /** Answers server requests; the default declines approvals and refuses the rest. */
  onServerRequest?: (method: string, params: unknown) => unknown;
  /** Told about every unusable line (after it is logged), e.g. to report protocol drift. */
  onProblem?: (problem: ProtocolProblem) => void;
  maxMessageBytes?: number;
  initializeTimeoutMs?: number;
  closeGraceMs?: number;
}

/** A started and initialized app-server. */
export class AppServerClient {
  readonly #process: SupervisedProcess;
  readonly #connection: JsonRpcConnection;
  readonly #listeners = new Set<(notification: ServerNotificationMessage) => void>();
  readonly #options: AppServerClientOptions;
  readonly #exited: Promise<ProcessResult>;
  #closing: Promise<ProcessResult> | undefined;
  #pauses = 0;

  private constructor(options: AppServerClientOptions) {
    this.#options = options;
    const { logger } = options;
    this.#process = superviseProcess({
      file: options.codexPath,
      args: ["app-server", ...options.configOverrides.flatMap((entry) => ["-c", entry])],
      cwd: options.cwd,
      env: options.env,
      input: "",
      keepStdinOpen: true,
      interruptGraceMs: options.interruptGraceMs,
      terminateGraceMs: options.terminateGraceMs,
      processes: options.processes,
      scanner: options.scanner,
      logger,
      accounting: options.accounting,
    });
    const stdin = this.#process.stdin;
    if (stdin === undefined) throw new Error("supervise kept no stdin open");
    this.#connection = new JsonRpcConnection({
      input: this.#process.stdout,
      output: stdin,
      ...(options.maxMessageBytes === undefined
        ? {}
        : { maxMessageBytes: options.maxMessageBytes }),
      closeOnEnd: false,
      onNotification: (method, params) => {
        const notification = { method, params } as ServerNotificationMessage;
        for (const listener of [...this.#listeners]) listener(notification);
      },
      onRequest: (method, params) => {
        logger.debug({ method }, "app-server request");
        return (options.onServerRequest ?? defaultServerRequestAnswer)(method, params);
      },
      onProblem: (problem) => {
        logger.warn({ problem }, "unusable line from codex app-server");
        options.onProblem?.(problem);
      },
    });
    this.#exited = this.#process.result.then((result) => {
      this.#connection.close(exitError(result, this.#closing !== undefined));
      return result;
    });
  }

  /**
   * Starts the server and completes the handshake. Throws an AppServerError (SPAWN_FAILED,
   * SERVER_EXITED, TIMEOUT, ABORTED); the server is stopped before the error is thrown.
   */
  static async start(
    options: AppServerClientOptions,
    signal?: AbortSignal,
  ): Promise<AppServerClient> {
    const client = new AppServerClient(options);
    try {
      await client.request(
        "initialize",
        { clientInfo: { ...options.clientInfo, title: null }, capabilities: null },
        { signal, timeoutMs: options.initializeTimeoutMs ?? DEFAULT_INITIALIZE_TIMEOUT_MS },
      );
      client.#connection.notify("initialized");
      return client;
    } catch (error) {
      await client.close("initialize failed");
      const result = await client.#exited;
      if (result.spawnError !== undefined) {
        throw new AppServerError(
          "SPAWN_FAILED",
          `could not start codex app-server: ${result.spawnError.message}`,
          { cause: error },
        );
      }
      throw error;
    }
  }

  /** The server's pid (undefined when it never started). */
  get pid(): number | undefined {
    return this.#process.pid;
  }

  /** Settles when the server has exited and its group is reaped; never rejects. */
  get exited(): Promise<ProcessResult> {
    return this.#exited;
  }

  /** Calls `method`; rejects with an AppServerError. */
  async request<M extends ClientMethod>(
    method: M,
    params: ClientParams<M>,
    options: CallOptions = {},
  ): Promise<ClientResults[M]> {
    return (await this.#connection.request(method, params, options)) as ClientResults[M];
  }

  /** Listens to every notification; returns the unsubscribe function. */
  onNotification(listener: (notification: ServerNotificationMessage) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * One more reader asks to stop reading the server's output (back-pressure: a slow consumer
   * slows codex); reading goes on once every such reader called resumeReading().
   */
  pauseReading(): void {
    this.#pauses += 1;
    if (this.#pauses === 1) this.#connection.pause();
  }

  resumeReading(): void {
    if (this.#pauses === 0) return;
    this.#pauses -= 1;
    if (this.#pauses === 0) this.#connection.resume();
  }

  /**
   * Stops the server: closes its stdin (app-server exits on EOF), then escalates to SIGINT →
   * SIGTERM → SIGKILL of its group after the close grace. Pending calls reject with CLOSED.
   * Idempotent; settles once the server is gone.
   */
  close(reason: string): Promise<ProcessResult> {
    this.#closing ??= this.#stop(reason);
    return this.#closing;
  }

  /** Kills the server's group now (SIGTERM, SIGKILL after `killAfterMs`), e.g. on shutdown. */
  kill(reason: string, killAfterMs: number): Promise<ProcessResult> {
    this.#connection.close(new AppServerError("CLOSED", `codex app-server stopped: ${reason}`));
    this.#process.forceKill(reason, killAfterMs);
    return this.close(reason);
  }

  async #stop(reason: string): Promise<ProcessResult> {
    this.#connection.close(new AppServerError("CLOSED", `codex app-server stopped: ${reason}`));
    this.#process.stdin?.end();
    const grace = this.#options.closeGraceMs ?? DEFAULT_CLOSE_GRACE_MS;
    const timer = setTimeout(() => this.#process.terminate(reason), grace);
    timer.unref();
    try {
      return await this.#exited;
    } finally {
      clearTimeout(timer);
    }
  }
}

// The error pending calls get when the server is gone.
function exitError(result: ProcessResult, closing: boolean): AppServerError {
  if (closing) return new AppServerError("CLOSED", "codex app-server was stopped");
  if (result.spawnError !== undefined) {
    return new AppServerError(
      "SPAWN_FAILED",
      `could not start codex app-server: ${result.spawnError.message}`,
    );
  }
  const status =
    result.signal === undefined ? `exit code ${result.exitCode}` : `signal ${result.signal}`;
  const tail = result.stderrTail.trim().split("\n").slice(-3).join(" | ");
  return new AppServerError(
    "SERVER_EXITED",
    `codex app-server exited (${status})${tail === "" ? "" : `: ${tail.slice(-500)}`}`,
  );
}
