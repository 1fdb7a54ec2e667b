// Application error codes of the codex backend; src/errors.ts holds the SDK's own.
import { status as GrpcStatus } from "@grpc/grpc-js";

export type AppErrorCode =
  | "CONFIG_INVALID"
  | "NOT_CONFIGURED"
  | "AGENT_ID_INVALID"
  | "AGENT_BUSY"
  | "WORKSPACE_INVALID"
  | "PROMPT_INVALID"
  | "PROMPT_TOO_LARGE"
  | "MODEL_UNSUPPORTED"
  | "CODEX_BINARY_NOT_FOUND"
  | "CODEX_VERSION_UNSUPPORTED"
  | "PROCESS_SPAWN_FAILED"
  | "PROCESS_CANCELED"
  | "PROCESS_TIMED_OUT"
  | "PROCESS_EXITED_NONZERO"
  | "JSONL_PARSE_FAILED"
  | "THREAD_STORE_FAILED"
  | "THREAD_MISMATCH"
  | "ATOMIC_WRITE_FAILED"
  | "REQUEST_INVALID"
  | "ROLLOUT_NOT_FOUND"
  | "ROLLOUT_CORRUPT"
  | "ROLLOUT_LOCKED"
  | "ROLLOUT_CHANGED"
  | "MCP_SOCKET_UNAVAILABLE"
  | "IMAGE_INVALID"
  | "OUTPUT_SCHEMA_INVALID"
  | "STRUCTURED_OUTPUT_INVALID"
  | "WORKTREE_FAILED"
  | "INTERNAL";

const brand = Symbol.for("plexum.AppError");

/** An application error with a stable string code; `cause` is always kept. */
export class AppError extends Error {
  override name = "AppError";
  readonly code: AppErrorCode;
  /** Dotted config paths or request fields the error is about, when known. */
  readonly fields: readonly string[];
  readonly [brand] = true;

  constructor(
    code: AppErrorCode,
    message: string,
    options?: { cause?: unknown; fields?: readonly string[] },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.fields = options?.fields ?? [];
  }

  /** Wraps any thrown value, passing an existing AppError through. */
  static from(value: unknown, code: AppErrorCode = "INTERNAL"): AppError {
    if (isAppError(value)) return value;
    const message = value instanceof Error ? value.message : String(value);
    return new AppError(code, message, { cause: value });
  }
}

/** True for an AppError, also across duplicated copies of this module. */
export function isAppError(value: unknown): value is AppError {
  return typeof value === "object" && value !== null && brand in value;
}

const grpcStatusByCode: Record<AppErrorCode, GrpcStatus> = {
  CONFIG_INVALID: GrpcStatus.INVALID_ARGUMENT,
  NOT_CONFIGURED: GrpcStatus.FAILED_PRECONDITION,
  AGENT_ID_INVALID: GrpcStatus.INVALID_ARGUMENT,
  AGENT_BUSY: GrpcStatus.ABORTED,
  WORKSPACE_INVALID: GrpcStatus.INVALID_ARGUMENT,
  PROMPT_INVALID: GrpcStatus.INVALID_ARGUMENT,
  PROMPT_TOO_LARGE: GrpcStatus.INVALID_ARGUMENT,
  MODEL_UNSUPPORTED: GrpcStatus.INVALID_ARGUMENT,
  CODEX_BINARY_NOT_FOUND: GrpcStatus.FAILED_PRECONDITION,
  CODEX_VERSION_UNSUPPORTED: GrpcStatus.FAILED_PRECONDITION,
  PROCESS_SPAWN_FAILED: GrpcStatus.UNAVAILABLE,
  PROCESS_CANCELED: GrpcStatus.CANCELLED,
  PROCESS_TIMED_OUT: GrpcStatus.DEADLINE_EXCEEDED,
  PROCESS_EXITED_NONZERO: GrpcStatus.INTERNAL,
  JSONL_PARSE_FAILED: GrpcStatus.DATA_LOSS,
  THREAD_STORE_FAILED: GrpcStatus.INTERNAL,
  THREAD_MISMATCH: GrpcStatus.INTERNAL,
  ATOMIC_WRITE_FAILED: GrpcStatus.INTERNAL,
  REQUEST_INVALID: GrpcStatus.INVALID_ARGUMENT,
  ROLLOUT_NOT_FOUND: GrpcStatus.NOT_FOUND,
  ROLLOUT_CORRUPT: GrpcStatus.DATA_LOSS,
  // Another codex process holds the thread, or the file changed under the rewrite: retry later.
  ROLLOUT_LOCKED: GrpcStatus.ABORTED,
  ROLLOUT_CHANGED: GrpcStatus.ABORTED,
  MCP_SOCKET_UNAVAILABLE: GrpcStatus.UNAVAILABLE,
  IMAGE_INVALID: GrpcStatus.INVALID_ARGUMENT,
  OUTPUT_SCHEMA_INVALID: GrpcStatus.INVALID_ARGUMENT,
  STRUCTURED_OUTPUT_INVALID: GrpcStatus.FAILED_PRECONDITION,
  WORKTREE_FAILED: GrpcStatus.FAILED_PRECONDITION,
  INTERNAL: GrpcStatus.INTERNAL,
};

/** The one mapping from application codes to gRPC status codes. */
export function toGrpcStatus(code: AppErrorCode): GrpcStatus {
  return grpcStatusByCode[code];
}
