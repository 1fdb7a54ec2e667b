// The one mapping from call errors to gRPC status (terraform-plugin-go's diagnostics seam): a
// failed call's status code, and details that name the error code and what went wrong.
import type * as grpc from "@grpc/grpc-js";
import { status as GrpcStatus } from "@grpc/grpc-js";

import { AppError, type AppErrorCode, isAppError } from "../core/app-error.js";

const grpcStatusByCode: Record<AppErrorCode, GrpcStatus> = {
  CONFIG_INVALID: GrpcStatus.INVALID_ARGUMENT,
  NOT_CONFIGURED: GrpcStatus.FAILED_PRECONDITION,
  AGENT_ID_INVALID: GrpcStatus.INVALID_ARGUMENT,
  AGENT_BUSY: GrpcStatus.ABORTED,
  WORKSPACE_INVALID: GrpcStatus.INVALID_ARGUMENT,
  PROMPT_INVALID: GrpcStatus.INVALID_ARGUMENT,
  REQUEST_INVALID: GrpcStatus.INVALID_ARGUMENT,
  IMAGE_INVALID: GrpcStatus.INVALID_ARGUMENT,
  THREAD_STORE_FAILED: GrpcStatus.INTERNAL,
  ATOMIC_WRITE_FAILED: GrpcStatus.INTERNAL,
  ROLLOUT_NOT_FOUND: GrpcStatus.NOT_FOUND,
  ROLLOUT_CORRUPT: GrpcStatus.DATA_LOSS,
  // Another codex process holds the thread, or the file changed under the rewrite: retry later.
  ROLLOUT_LOCKED: GrpcStatus.ABORTED,
  ROLLOUT_CHANGED: GrpcStatus.ABORTED,
  MCP_SOCKET_UNAVAILABLE: GrpcStatus.UNAVAILABLE,
  SHUTTING_DOWN: GrpcStatus.UNAVAILABLE,
  THREAD_NOT_FOUND: GrpcStatus.NOT_FOUND,
  CODEX_UNSUPPORTED: GrpcStatus.FAILED_PRECONDITION,
  // Codex or its model failed this time; the thread is as it was, and a retry may succeed.
  COMPACTION_FAILED: GrpcStatus.UNAVAILABLE,
  INTERNAL: GrpcStatus.INTERNAL,
};

/** The gRPC status of a call error code. */
export function toGrpcStatus(code: AppErrorCode): GrpcStatus {
  return grpcStatusByCode[code];
}

/**
 * The longest status message sent, in UTF-8 bytes. It travels in an HTTP/2 trailer, percent-encoded
 * (up to 3 bytes per byte). Observed with grpc-js on both ends: a call whose status message had
 * 80,000 bytes never completed (the client hit its deadline), nor did the next calls on that
 * connection; 8 KiB, even tripled, stays far below.
 */
export const MAX_STATUS_DETAILS_BYTES = 8192;

/** A gRPC error carrying a status code and a message that names what went wrong. */
export function serviceError(error: unknown): Partial<grpc.ServiceError> {
  const app = isAppError(error) ? error : AppError.from(error);
  return { code: toGrpcStatus(app.code), details: bounded(`${app.code}: ${app.message}`) };
}

// Cut at a character boundary, with an ellipsis.
function bounded(details: string): string {
  if (details.length * 3 <= MAX_STATUS_DETAILS_BYTES) return details;
  const room = new Uint8Array(MAX_STATUS_DETAILS_BYTES - 3);
  const { read } = new TextEncoder().encodeInto(details, room);
  return read === details.length ? details : `${details.slice(0, read)}…`;
}
