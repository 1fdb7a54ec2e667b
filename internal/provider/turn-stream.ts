// RunTurn, the bidirectional stream: the first message starts the turn; later ones cancel it or
// answer its host tool calls; the turn's events go out as they come, and a slow host slows codex.
import type { MessageInitShape } from "@bufbuild/protobuf";
import type * as grpc from "@grpc/grpc-js";
import type { Logger } from "pino";

import type {
  RunTurnRequest,
  RunTurnResponseSchema,
} from "../../src/gen/plexum/provider/v1/provider_pb.js";
import type { EventBatch } from "../core/canonical-event.js";
import type { CancelReason } from "../turn/agent-slots.js";
import type { ActiveTurn, Engine } from "../turn/turn-engine.js";
import {
  cancelReasonFromProto,
  hostToolAnswerFromProto,
  startTurnFromProto,
  turnRequestFromProto,
} from "./from-proto.js";
import { serviceError } from "./grpc-status.js";
import { eventBatchToProto } from "./to-proto.js";

export type TurnCall = grpc.ServerDuplexStream<
  RunTurnRequest,
  MessageInitShape<typeof RunTurnResponseSchema>
>;

/** Serves one RunTurn call to its end; a call refused before the turn starts gets a status. */
export async function serveTurnStream(
  call: TurnCall,
  engine: () => Promise<Engine>,
  logger: Logger,
): Promise<void> {
  try {
    const start = startTurnFromProto(await firstRequest(call));
    const request = turnRequestFromProto(start);
    const turn = await (await engine()).startTurn(request);
    watchCall(call, turn);
    await sendEvents(call, turn.events, start.batchEvents);
    if (!call.cancelled) call.end();
  } catch (error) {
    const status = serviceError(error);
    logger.warn({ code: status.code, error: status.details }, "turn rejected");
    call.emit("error", status);
  }
}

// Later messages on the stream may cancel or answer host tool calls; the host cancelling the
// stream cancels as well. Bound to this call's turn, not to the agent: a late 'cancelled' or
// tool_result from a stream whose turn is over (the host closing it after turn_end) must not reach
// the agent's next turn.
function watchCall(call: TurnCall, turn: ActiveTurn): void {
  const hostCancelled: CancelReason = {
    kind: "host_cancelled",
    message: "the host cancelled the RunTurn stream",
  };
  call.on("data", (message: RunTurnRequest) => {
    if (message.request.case === "cancel") {
      const reason = message.request.value.reason;
      turn.cancel(
        cancelReasonFromProto(reason, "cancelled", "cancelled by the host (RunTurn cancel)"),
      );
    } else if (message.request.case === "toolResult") {
      const result = message.request.value;
      turn.answerHostTool(result.requestId, hostToolAnswerFromProto(result));
    } else if (message.request.case === "start") {
      turn.repeatedStart();
    }
  });
  call.on("cancelled", () => turn.cancel(hostCancelled));
  // firstRequest paused the stream, so a cancel sent right behind `start` waited for the listener
  // above instead of being dropped; a stream cancelled meanwhile fired no event.
  call.resume();
  if (call.cancelled) turn.cancel(hostCancelled);
}

// Writes the events as they come. A cancelled call can no longer be written; the turn is then
// stopping through its cancel.
async function sendEvents(
  call: TurnCall,
  events: AsyncIterable<EventBatch>,
  batched: boolean,
): Promise<void> {
  let seq = 0;
  for await (const batch of events) {
    const firstSeq = seq + 1;
    seq += batch.length;
    if (call.cancelled) continue;
    let full = false;
    for (const response of eventBatchToProto(batch, firstSeq, batched)) {
      full = !call.write(response) || full;
    }
    // The transport is full: a slow host slows codex down.
    if (full) await drained(call);
  }
}

/** The stream's first message, or undefined if the client half-closed without one. */
function firstRequest(call: TurnCall): Promise<RunTurnRequest | undefined> {
  return new Promise((resolve, reject) => {
    const cleanup = () => {
      call.off("data", onData);
      call.off("end", onEnd);
      call.off("error", onError);
      call.off("cancelled", onEnd);
    };
    const onData = (message: RunTurnRequest) => {
      cleanup();
      // Held until watchCall listens: with no 'data' listener a flowing stream drops messages.
      call.pause();
      resolve(message);
    };
    const onEnd = () => {
      cleanup();
      resolve(undefined);
    };
    const onError = (error: Error) => {
      cleanup();
      reject(error);
    };
    call.on("data", onData);
    call.once("end", onEnd);
    call.once("error", onError);
    call.once("cancelled", onEnd);
  });
}

/**
 * Settles once a call whose write returned false drains, or goes away. Plain listeners rather than
 * `events.once` with an AbortSignal: that allocated an AbortError with a stack trace on every full
 * write, a large share of the plugin's CPU when events stream fast.
 */
function drained(call: TurnCall): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      call.off("drain", done);
      call.off("cancelled", done);
      call.off("close", done);
      resolve();
    };
    call.on("drain", done);
    call.on("cancelled", done);
    call.on("close", done);
  });
}
