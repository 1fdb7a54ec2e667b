// What goes wrong talking to `codex app-server`, as one error type with a code, so a caller (the
// compaction service now, an app-server turn backend later) decides by code, never by message.

/** Why an app-server call failed. */
export type AppServerErrorCode =
  /** The server could not be started (ENOENT, EACCES …). */
  | "SPAWN_FAILED"
  /** The server exited or closed its output while the call was pending. */
  | "SERVER_EXITED"
  /** The server answered with a JSON-RPC error (`rpcCode`, `data`). */
  | "RPC_ERROR"
  /** The caller's AbortSignal fired. */
  | "ABORTED"
  /** No answer within the call's time limit. */
  | "TIMEOUT"
  /** The client was closed by its owner. */
  | "CLOSED";

const brand = Symbol.for("plexum.AppServerError");

/** A failed app-server call; `cause` is kept. */
export class AppServerError extends Error {
  override name = "AppServerError";
  readonly code: AppServerErrorCode;
  /** The JSON-RPC error code, for RPC_ERROR. */
  readonly rpcCode: number | undefined;
  /** The JSON-RPC error's data, for RPC_ERROR. */
  readonly data: unknown;
  readonly [brand] = true;

  constructor(
    code: AppServerErrorCode,
    message: string,
    options: { cause?: unknown; rpcCode?: number | undefined; data?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.rpcCode = options.rpcCode;
    this.data = options.data;
  }
}

/** True for an AppServerError, also across duplicated copies of this module. */
export function isAppServerError(value: unknown): value is AppServerError {
  return typeof value === "object" && value !== null && brand in value;
}

/** JSON-RPC 2.0 error codes this client sends. */
export const JSON_RPC_ERRORS = {
  methodNotFound: -32601,
  internalError: -32603,
} as const;

/** Thrown by a server-request handler to answer with this JSON-RPC error. */
export class JsonRpcReplyError extends Error {
  override name = "JsonRpcReplyError";
  readonly code: number;

  constructor(code: number, message: string) {
    super(message);
    this.code = code;
  }
}
