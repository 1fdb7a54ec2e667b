// The Plexum RunTurn client the dev host, tests and benchmarks use: application code, not SDK.
import { type JsonObject, type MessageInitShape, toJson } from "@bufbuild/protobuf";

import {
  type HostToolCall,
  type ProviderPlugin,
  type RunTurnResponse,
  type StartTurnSchema,
  type TurnEvent,
  TurnEventSchema,
} from "../../src/gen/plexum/provider/v1/provider_pb.js";
import type { ServiceClient } from "../../src/plugin/grpc-client.js";

/** The host's answer to a host tool call; the request id is filled in by {@link streamTurn}. */
export interface HostToolAnswer {
  /** The result as text; used when `contentJson` is empty. */
  text?: string;
  isError?: boolean;
  /** An MCP content array as JSON; overrides `text`. */
  contentJson?: string;
}

/** Options for {@link streamTurn}. */
export interface StreamTurnOptions {
  /** Aborting sends a `cancel` message on the stream; the turn still ends with its `turn_end`. */
  signal?: AbortSignal;
  /** The reason carried by that cancel message. */
  cancelReason?: string;
  /**
   * Answers the turn's `host_tool_call` events (the event is yielded as well). Resolve to
   * undefined to leave a call unanswered; a rejection is sent as an error result.
   */
  onHostToolCall?: (
    call: HostToolCall,
  ) => HostToolAnswer | undefined | Promise<HostToolAnswer | undefined>;
}

/**
 * Runs one turn over `RunTurn` and yields its events up to and including `turn_end`. The request
 * side stays open until then, so a cancel can still be sent. Asks for batched responses unless
 * `start.batchEvents` says otherwise; both shapes are read.
 */
export async function* streamTurn(
  client: ServiceClient<typeof ProviderPlugin>,
  start: MessageInitShape<typeof StartTurnSchema>,
  options: StreamTurnOptions = {},
): AsyncGenerator<TurnEvent, void, undefined> {
  const call = client.runTurn();
  const onAbort = (): void => {
    if (!call.writableEnded) {
      call.write({ request: { case: "cancel", value: { reason: options.cancelReason ?? "" } } });
    }
  };
  const answer = (request: HostToolCall, result: HostToolAnswer | undefined): void => {
    if (result === undefined || call.writableEnded) return;
    call.write({
      request: { case: "toolResult", value: { ...result, requestId: request.requestId } },
    });
  };
  // The handler runs beside the stream; its answer goes back on the same call.
  const dispatch = (request: HostToolCall): void => {
    const handler = options.onHostToolCall;
    if (handler === undefined) return;
    Promise.resolve()
      .then(() => handler(request))
      .then(
        (result) => answer(request, result),
        (error: unknown) =>
          answer(request, {
            text: error instanceof Error ? error.message : String(error),
            isError: true,
          }),
      )
      // The stream may be gone by the time the answer is ready; that turn has ended anyway.
      .catch(() => undefined);
  };
  call.write({ request: { case: "start", value: { batchEvents: true, ...start } } });
  options.signal?.addEventListener("abort", onAbort, { once: true });
  if (options.signal?.aborted === true) onAbort();
  try {
    for await (const response of call as AsyncIterable<RunTurnResponse>) {
      for (const event of response.event === undefined ? response.events : [response.event]) {
        if (event.event.case === "hostToolCall") dispatch(event.event.value);
        yield event;
        if (event.event.case === "turnEnd") return;
      }
    }
  } finally {
    options.signal?.removeEventListener("abort", onAbort);
    if (!call.writableEnded) call.end();
  }
}

/**
 * A turn event in protobuf's canonical JSON mapping with the .proto's snake_case field names
 * (`{"seq":"3","time":"…","text":{"text":"…"}}`; 64-bit integers are strings, enums their names).
 */
export function turnEventJson(event: TurnEvent): JsonObject {
  return toJson(TurnEventSchema, event, { useProtoFieldName: true }) as JsonObject;
}
