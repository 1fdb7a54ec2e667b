import type { MessageInitShape } from "@bufbuild/protobuf";

import type {
  ProviderPlugin,
  StartTurnSchema,
  TurnEvent,
} from "../gen/plexum/provider/v1/provider_pb.js";
import type { ServiceClient } from "../plugin/grpc-client.js";

/** Options for {@link streamTurn}. */
export interface StreamTurnOptions {
  /** Aborting sends a `cancel` message on the stream; the turn still ends with its `turn_end`. */
  signal?: AbortSignal;
  /** The reason carried by that cancel message. */
  cancelReason?: string;
}

/**
 * Runs one turn over `RunTurn` and yields its events up to and including `turn_end`. The request
 * side stays open until then, so a cancel can still be sent.
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
  call.write({ request: { case: "start", value: start } });
  options.signal?.addEventListener("abort", onAbort, { once: true });
  if (options.signal?.aborted === true) onAbort();
  try {
    for await (const response of call) {
      const event = (response as { event?: TurnEvent }).event;
      if (event === undefined) continue;
      yield event;
      if (event.event.case === "turnEnd") break;
    }
  } finally {
    options.signal?.removeEventListener("abort", onAbort);
    if (!call.writableEnded) call.end();
  }
}
