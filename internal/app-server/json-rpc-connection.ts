// Newline-delimited JSON-RPC 2.0 over a pair of byte streams (codex app-server's stdio): requests
// with ids and pending answers, notifications, and answers to the server's own requests. Knows no
// codex method; app-server-client.ts types the calls. Lines are bounded; a line that is not a
// JSON-RPC message is reported to `onProblem` and skipped, never thrown.
import type { Readable, Writable } from "node:stream";

import { LineSplitter } from "../jsonl/line-splitter.js";
import { AppServerError, JSON_RPC_ERRORS, JsonRpcReplyError } from "./app-server-error.js";

/** app-server puts whole items (command output, file diffs) on a line; bounded all the same. */
export const DEFAULT_MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

/** A line that was not a message this client can use; reported, then skipped. */
export interface ProtocolProblem {
  kind: "not_json" | "not_a_message" | "oversize" | "unknown_response";
  lineNumber: number;
  /** The start of the line (never more than 200 characters). */
  sample: string;
}

export interface JsonRpcConnectionOptions {
  /** The server's output (its stdout). */
  input: Readable;
  /** The server's input (its stdin). */
  output: Writable;
  maxMessageBytes?: number;
  /** A notification from the server; called synchronously, in arrival order. */
  onNotification: (method: string, params: unknown) => void;
  /**
   * A request from the server: resolve with the result, or throw a JsonRpcReplyError to answer
   * with that error (anything else thrown is answered as an internal error). Always answered.
   */
  onRequest: (method: string, params: unknown) => unknown;
  onProblem: (problem: ProtocolProblem) => void;
  /**
   * Reject every pending call with SERVER_EXITED when the input ends (the default). A process
   * owner that can say why the server died sets false and calls close() itself.
   */
  closeOnEnd?: boolean;
}

/** Per-call options. */
export interface CallOptions {
  signal?: AbortSignal | undefined;
  /** Reject with TIMEOUT after this long; undefined waits as long as the server lives. */
  timeoutMs?: number | undefined;
}

interface Pending {
  method: string;
  resolve: (result: unknown) => void;
  reject: (error: AppServerError) => void;
}

/** One JSON-RPC session over two streams. */
export class JsonRpcConnection {
  readonly #options: JsonRpcConnectionOptions;
  readonly #pending = new Map<number, Pending>();
  readonly #splitter: LineSplitter;
  #nextId = 1;
  #closedBy: AppServerError | undefined;

  constructor(options: JsonRpcConnectionOptions) {
    this.#options = options;
    this.#splitter = new LineSplitter(options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES);
    options.input.on("data", (chunk: Buffer) => {
      for (const line of this.#splitter.push(chunk)) this.#take(line);
    });
    const ended = (): void => {
      for (const line of this.#splitter.end()) this.#take(line);
      if (options.closeOnEnd !== false) {
        this.close(new AppServerError("SERVER_EXITED", "codex app-server closed its output"));
      }
    };
    options.input.once("end", ended);
    options.input.once("close", ended);
    options.input.on("error", () => undefined);
    // EPIPE: the server is gone; its exit rejects the pending calls.
    options.output.on("error", () => undefined);
  }

  /** Calls `method`; settles with its result or an AppServerError. */
  request(method: string, params: unknown, options: CallOptions = {}): Promise<unknown> {
    if (this.#closedBy !== undefined) return Promise.reject(this.#closedBy);
    const { signal, timeoutMs } = options;
    if (signal?.aborted === true) return Promise.reject(aborted(method, signal));
    const id = this.#nextId;
    this.#nextId += 1;
    return new Promise<unknown>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const onAbort = (): void => finish(() => reject(aborted(method, signal)));
      const finish = (settle: () => void): void => {
        this.#pending.delete(id);
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        settle();
      };
      this.#pending.set(id, {
        method,
        resolve: (result) => finish(() => resolve(result)),
        reject: (error) => finish(() => reject(error)),
      });
      signal?.addEventListener("abort", onAbort, { once: true });
      if (timeoutMs !== undefined) {
        timer = setTimeout(
          () =>
            finish(() =>
              reject(new AppServerError("TIMEOUT", `${method}: no answer within ${timeoutMs} ms`)),
            ),
          timeoutMs,
        );
        timer.unref();
      }
      this.#write({ jsonrpc: "2.0", id, method, params });
    });
  }

  /** Sends a notification (no answer). */
  notify(method: string, params?: unknown): void {
    if (this.#closedBy !== undefined) return;
    this.#write(
      params === undefined ? { jsonrpc: "2.0", method } : { jsonrpc: "2.0", method, params },
    );
  }

  /**
   * Stops reading the server's output (its pipe fills and the server blocks on write), for a
   * consumer that cannot keep up; lines already read are still delivered.
   */
  pause(): void {
    this.#options.input.pause();
  }

  /** Reads the server's output again. */
  resume(): void {
    this.#options.input.resume();
  }

  /** Calls waiting for an answer. */
  get pendingCount(): number {
    return this.#pending.size;
  }

  /** Rejects every pending call with `error`, and every later one; idempotent (first wins). */
  close(error: AppServerError): void {
    this.#closedBy ??= error;
    for (const pending of [...this.#pending.values()]) pending.reject(this.#closedBy);
  }

  #write(message: object): void {
    this.#options.output.write(`${JSON.stringify(message)}\n`);
  }

  #take(line: ReturnType<LineSplitter["push"]>[number]): void {
    if (line.kind === "oversize") {
      this.#problem("oversize", line.lineNumber, `${line.bytes} bytes`);
      return;
    }
    if (line.text.trim() === "") return;
    let message: unknown;
    try {
      message = JSON.parse(line.text);
    } catch {
      this.#problem("not_json", line.lineNumber, line.text);
      return;
    }
    if (typeof message !== "object" || message === null || Array.isArray(message)) {
      this.#problem("not_a_message", line.lineNumber, line.text);
      return;
    }
    const { id, method, params, result, error } = message as Record<string, unknown>;
    if (typeof method === "string") {
      if (id === undefined || id === null) this.#options.onNotification(method, params);
      else if (typeof id === "string" || typeof id === "number") this.#answer(id, method, params);
      else this.#problem("not_a_message", line.lineNumber, line.text);
      return;
    }
    const pending = typeof id === "number" ? this.#pending.get(id) : undefined;
    if (pending === undefined) {
      this.#problem("unknown_response", line.lineNumber, line.text);
      return;
    }
    if (error !== undefined) pending.reject(rpcError(pending.method, error));
    else pending.resolve(result);
  }

  // Answers a server request: codex waits for the answer, so one is always sent.
  #answer(id: string | number, method: string, params: unknown): void {
    void (async () => {
      try {
        const result = await this.#options.onRequest(method, params);
        this.#write({ jsonrpc: "2.0", id, result: result ?? null });
      } catch (thrown) {
        const error =
          thrown instanceof JsonRpcReplyError
            ? { code: thrown.code, message: thrown.message }
            : {
                code: JSON_RPC_ERRORS.internalError,
                message: thrown instanceof Error ? thrown.message : String(thrown),
              };
        this.#write({ jsonrpc: "2.0", id, error });
      }
    })();
  }

  #problem(kind: ProtocolProblem["kind"], lineNumber: number, text: string): void {
    this.#options.onProblem({ kind, lineNumber, sample: text.slice(0, 200) });
  }
}

function aborted(method: string, signal: AbortSignal | undefined): AppServerError {
  const reason: unknown = signal?.reason;
  const why = reason instanceof Error ? reason.message : String(reason ?? "aborted");
  return new AppServerError("ABORTED", `${method}: ${why}`, { cause: reason });
}

function rpcError(method: string, error: unknown): AppServerError {
  const { code, message, data } = (typeof error === "object" && error !== null ? error : {}) as {
    code?: unknown;
    message?: unknown;
    data?: unknown;
  };
  return new AppServerError(
    "RPC_ERROR",
    `${method}: ${typeof message === "string" ? message : JSON.stringify(error)}`,
    { rpcCode: typeof code === "number" ? code : undefined, data },
  );
}
