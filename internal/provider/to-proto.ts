// Canonical turn events → plexum.provider.v1 wire messages. The only place domain events meet
// generated types (terraform-plugin-go's toproto seam).
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";

import {
  type CancelTurnResponseSchema,
  type CompactThreadResponseSchema,
  type ConfigureResponseSchema,
  type ConsumeResponseSchema,
  type ContextWindowSchema,
  Diagnostic_Severity,
  ErrorClass as ErrorClassPb,
  type ErrorEvent,
  ErrorEventSchema,
  type GetInfoResponseSchema,
  type GetUsageResponseSchema,
  type ListModelsResponseSchema,
  NoticeEvent_Kind,
  type RateLimitWindowSchema,
  type ResetThreadResponseSchema,
  type RunTurnResponseSchema,
  ToolEvent_Phase,
  type ToolEventSchema,
  TurnEnd_Outcome,
  type TurnEventSchema,
  type Usage as UsagePb,
  UsageSchema,
} from "../../src/gen/plexum/provider/v1/provider_pb.js";
import type { ConfigureOutcome, ModelEntry, PluginInfo } from "../app/provider-core.js";
import type { CodexBinaryStatus } from "../codex/binary.js";
import type {
  CanonicalEvent,
  EventBatch,
  ToolDetail,
  ToolPhase,
  TurnOutcome,
} from "../core/canonical-event.js";
import type { ContextWindowFill } from "../core/context-window.js";
import type { RateLimitWindow } from "../core/rate-limits.js";
import type { ErrorClass, TurnError } from "../core/turn-error.js";
import type { Usage } from "../core/usage.js";
import type { ConsumeResult } from "../rollout/consume-thread.js";
import type { CompactThreadResult } from "../turn/compact-service.js";
import type { AgentUsage } from "../turn/turn-engine.js";

const errorClasses: Record<ErrorClass, ErrorClassPb> = {
  retrying: ErrorClassPb.RETRYING,
  rate_limited: ErrorClassPb.RATE_LIMITED,
  quota_exhausted: ErrorClassPb.QUOTA_EXHAUSTED,
  auth: ErrorClassPb.AUTH,
  context_window_exceeded: ErrorClassPb.CONTEXT_WINDOW_EXCEEDED,
  invalid_request: ErrorClassPb.INVALID_REQUEST,
  network: ErrorClassPb.NETWORK,
  internal: ErrorClassPb.INTERNAL,
  precondition: ErrorClassPb.PRECONDITION,
  timeout: ErrorClassPb.TIMEOUT,
};

const phases: Record<ToolPhase, ToolEvent_Phase> = {
  started: ToolEvent_Phase.STARTED,
  updated: ToolEvent_Phase.UPDATED,
  completed: ToolEvent_Phase.COMPLETED,
};

const outcomes: Record<TurnOutcome, TurnEnd_Outcome> = {
  completed: TurnEnd_Outcome.COMPLETED,
  failed: TurnEnd_Outcome.FAILED,
  cancelled: TurnEnd_Outcome.CANCELLED,
  crashed: TurnEnd_Outcome.CRASHED,
};

const noticeKinds = {
  retrying: NoticeEvent_Kind.RETRYING,
  warning: NoticeEvent_Kind.WARNING,
  thread_stored: NoticeEvent_Kind.THREAD_STORED,
} as const;

function usageToProto(usage: Usage): UsagePb {
  return create(UsageSchema, {
    inputTokens: BigInt(usage.input_tokens),
    cachedInputTokens: BigInt(usage.cached_input_tokens),
    cacheWriteInputTokens: BigInt(usage.cache_write_input_tokens),
    outputTokens: BigInt(usage.output_tokens),
    reasoningOutputTokens: BigInt(usage.reasoning_output_tokens),
  });
}

/** Converts a typed turn error to its wire form. */
export function errorToProto(error: TurnError): ErrorEvent {
  return create(ErrorEventSchema, {
    class: errorClasses[error.class],
    code: error.code,
    message: error.message,
    retryable: error.retryable,
    ...(error.retryAfterSeconds === undefined
      ? {}
      : { retryAfterSeconds: Math.max(0, Math.round(error.retryAfterSeconds)) }),
    ...(error.resetsAt === undefined ? {} : { resetsAt: timestampFromDate(error.resetsAt) }),
  });
}

function toolToProto(
  detail: ToolDetail,
): NonNullable<MessageInitShape<typeof ToolEventSchema>["tool"]> {
  switch (detail.type) {
    case "command_execution":
      return {
        case: "command",
        value: {
          command: detail.command,
          aggregatedOutput: detail.aggregatedOutput,
          ...(detail.exitCode === null ? {} : { exitCode: detail.exitCode }),
        },
      };
    case "mcp_tool_call":
      return {
        case: "mcpToolCall",
        value: {
          server: detail.server,
          tool: detail.tool,
          argumentsJson: detail.argumentsJson,
          resultJson: detail.resultJson,
          error: detail.error,
        },
      };
    case "file_change":
      return { case: "fileChange", value: { changes: detail.changes } };
    case "web_search":
      return { case: "webSearch", value: { query: detail.query, actionJson: detail.actionJson } };
    case "todo_list":
      return { case: "todoList", value: { items: detail.items } };
    case "collab_tool_call":
      return { case: "collabToolCall", value: { tool: detail.tool, rawJson: detail.rawJson } };
  }
}

type EventInit = NonNullable<MessageInitShape<typeof TurnEventSchema>["event"]>;

function eventBody(event: CanonicalEvent): EventInit {
  switch (event.kind) {
    case "turn_started":
      return {
        case: "turnStarted",
        value: {
          threadId: event.threadId,
          resumed: event.resumed,
          model: event.model,
          sandbox: event.sandbox,
          codexVersion: event.codexVersion,
          worktreePath: event.worktreePath ?? "",
          ...(event.policy === undefined ? {} : { policy: event.policy }),
        },
      };
    case "text":
      return { case: "text", value: { itemId: event.itemId, text: event.text } };
    case "reasoning":
      return { case: "reasoning", value: { itemId: event.itemId, text: event.text } };
    case "text_delta":
      return { case: "textDelta", value: { itemId: event.itemId, delta: event.delta } };
    case "reasoning_delta":
      return { case: "reasoningDelta", value: { itemId: event.itemId, delta: event.delta } };
    case "command_output_delta":
      return { case: "commandOutputDelta", value: { itemId: event.itemId, delta: event.delta } };
    case "tool":
      return {
        case: "tool",
        value: {
          itemId: event.itemId,
          phase: phases[event.phase],
          status: event.status,
          tool: toolToProto(event.detail),
        },
      };
    case "usage":
      return {
        case: "usage",
        value: { turn: usageToProto(event.turn), thread: usageToProto(event.thread) },
      };
    case "error":
      return { case: "error", value: errorToProto(event.error) };
    case "notice":
      return {
        case: "notice",
        value: { kind: noticeKinds[event.notice], message: event.message, code: event.code ?? "" },
      };
    case "passthrough":
      return { case: "passthrough", value: { type: event.type, rawJson: event.rawJson } };
    case "thread_lost":
      return {
        case: "threadLost",
        value: { threadId: event.threadId, reason: event.reason, action: event.action },
      };
    case "tool_call":
      return {
        case: "toolCall",
        value: {
          callId: event.callId,
          name: event.name,
          namespace: event.namespace,
          arguments: event.arguments,
          kind: event.callKind,
        },
      };
    case "tool_result":
      return {
        case: "toolResult",
        value: { callId: event.callId, output: event.output, outputJson: event.outputJson },
      };
    case "host_tool_call":
      return {
        case: "hostToolCall",
        value: {
          requestId: event.requestId,
          callId: event.callId,
          toolName: event.toolName,
          argumentsJson: event.argumentsJson,
        },
      };
    case "turn_end":
      return {
        case: "turnEnd",
        value: {
          outcome: outcomes[event.outcome],
          message: event.message,
          threadId: event.threadId,
          finalText: event.finalText,
          ...(event.usage === undefined ? {} : { usage: usageToProto(event.usage) }),
          ...(event.exitCode === undefined ? {} : { exitCode: event.exitCode }),
          signal: event.signal ?? "",
          stderrTail: event.stderrTail,
          ...(event.error === undefined ? {} : { error: errorToProto(event.error) }),
          durationMs: BigInt(Math.max(0, Math.round(event.durationMs))),
          structuredOutputJson: event.structuredOutputJson ?? "",
          ...(event.diff === undefined
            ? {}
            : { diff: { ...event.diff, bytes: BigInt(event.diff.bytes) } }),
          ...(event.contextWindow === undefined
            ? {}
            : { contextWindow: contextWindowToProto(event.contextWindow) }),
        },
      };
  }
}

/**
 * Converts one canonical event to a wire TurnEvent with its sequence number and timestamp: an init
 * object, which the service's serializer encodes without creating the message first.
 */
export function eventToProto(
  event: CanonicalEvent,
  seq: number,
  now = Date.now(),
): MessageInitShape<typeof TurnEventSchema> {
  const seconds = Math.floor(now / 1000);
  return {
    seq: BigInt(seq),
    // timestampFromMs, as an init object.
    time: { seconds: BigInt(seconds), nanos: (now - seconds * 1000) * 1_000_000 },
    event: eventBody(event),
  };
}

/** A batch of events as one RunTurnResponse (batch_events), or one response per event. */
export function eventBatchToProto(
  batch: EventBatch,
  firstSeq: number,
  batched: boolean,
): MessageInitShape<typeof RunTurnResponseSchema>[] {
  const now = Date.now();
  if (batched) {
    return [{ events: batch.map((event, index) => eventToProto(event, firstSeq + index, now)) }];
  }
  return batch.map((event, index) => ({ event: eventToProto(event, firstSeq + index, now) }));
}

function codexStatusToProto(binary: CodexBinaryStatus) {
  return {
    ready: binary.ready,
    binaryPath: binary.path,
    version: binary.version,
    degradedReason: binary.degradedReason,
    source: binary.source,
    notes: [...binary.notes],
  };
}

/** GetInfo's answer. */
export function infoToProto(
  info: PluginInfo,
  identity: { name: string; version: string; protocolVersion: number },
): MessageInitShape<typeof GetInfoResponseSchema> {
  return {
    ...identity,
    capabilities: [...info.capabilities],
    codex: codexStatusToProto(info.codex),
    configured: info.configured,
    auth: { ...info.auth },
  };
}

const severities = {
  warning: Diagnostic_Severity.WARNING,
  error: Diagnostic_Severity.ERROR,
} as const;

/** Configure's answer. */
export function configureToProto(
  outcome: ConfigureOutcome,
): MessageInitShape<typeof ConfigureResponseSchema> {
  return {
    diagnostics: outcome.diagnostics.map((diagnostic) => ({
      severity: severities[diagnostic.severity],
      summary: diagnostic.summary,
      detail: diagnostic.detail,
      field: diagnostic.field,
    })),
    codex: codexStatusToProto(outcome.codex),
  };
}

/** ListModels' answer. */
export function modelsToProto(
  models: readonly ModelEntry[],
): MessageInitShape<typeof ListModelsResponseSchema> {
  return { models: models.map((model) => ({ ...model })) };
}

/** CancelTurn's answer. */
export function cancelToProto(
  cancelled: boolean,
): MessageInitShape<typeof CancelTurnResponseSchema> {
  return { cancelled };
}

/** ResetThread's answer. */
export function resetToProto(
  previousThreadId: string | undefined,
): MessageInitShape<typeof ResetThreadResponseSchema> {
  return { previousThreadId: previousThreadId ?? "" };
}

/** GetUsage's answer. */
export function usageReportToProto(
  usage: AgentUsage,
): MessageInitShape<typeof GetUsageResponseSchema> {
  return {
    total: usageToProto(usage.total),
    turns: BigInt(usage.turns),
    threadId: usage.threadId,
    ...(usage.thread === undefined ? {} : { thread: usageToProto(usage.thread) }),
    rateLimits: usage.rateLimits.map(rateLimitToProto),
  };
}

/** A thread's context-window fill (TurnEnd.context_window). */
export function contextWindowToProto(
  fill: ContextWindowFill,
): MessageInitShape<typeof ContextWindowSchema> {
  return {
    tokensInContext: BigInt(fill.tokensInContext),
    modelContextWindow: BigInt(fill.modelContextWindow),
    ...(fill.fill === undefined ? {} : { fill: fill.fill }),
    ...(fill.percentLeft === undefined ? {} : { percentLeft: fill.percentLeft }),
  };
}

/** One rate-limit window (GetUsageResponse.rate_limits). */
export function rateLimitToProto(
  window: RateLimitWindow,
): MessageInitShape<typeof RateLimitWindowSchema> {
  return {
    limitId: window.limitId,
    limitName: window.limitName,
    kind: window.kind,
    usedPercent: window.usedPercent,
    // uint32 on the wire; a longer window than that is no window codex reports.
    ...(window.windowMinutes === undefined || window.windowMinutes > 0xffff_ffff
      ? {}
      : { windowMinutes: window.windowMinutes }),
    ...(window.resetsAtMs === undefined ? {} : { resetsAt: timestampOfMs(window.resetsAtMs) }),
    source: window.source,
    observedAt: timestampOfMs(window.observedAtMs),
    threadId: window.threadId,
  };
}

// timestampFromMs as an init object (no message created).
function timestampOfMs(ms: number): { seconds: bigint; nanos: number } {
  const seconds = Math.floor(ms / 1000);
  return { seconds: BigInt(seconds), nanos: Math.round(ms - seconds * 1000) * 1_000_000 };
}

/** Consume's answer. */
export function consumeToProto(
  result: ConsumeResult,
): MessageInitShape<typeof ConsumeResponseSchema> {
  return { ...result };
}

/** CompactThread's answer. */
export function compactToProto(
  result: CompactThreadResult,
): MessageInitShape<typeof CompactThreadResponseSchema> {
  return {
    threadId: result.threadId,
    tokensBefore: BigInt(result.tokensBefore),
    tokensAfter: BigInt(result.tokensAfter),
    modelContextWindow: BigInt(result.modelContextWindow ?? 0),
    usage: usageToProto(result.usage),
    durationMs: BigInt(result.durationMs),
  };
}
