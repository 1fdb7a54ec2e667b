/** The part of a grpc-js server stream that holding it open needs. */
export interface HoldableCall {
  /** Ends the call with status OK. */
  end(): void;
  /** grpc-js emits `cancelled` when the client goes away; `close`/`error` when the call ends. */
  once(event: "cancelled" | "close" | "error", listener: () => void): unknown;
}

/**
 * Tracks server streams that are held open on purpose (StreamStdio, StartStream, Health/Watch).
 *
 * grpc-js's graceful `tryShutdown()` waits for every open call, so these must be ended explicitly
 * before the server stops, or shutdown would stall until the 2 s force-kill.
 */
export interface OpenStreams {
  /** Holds `call` open until it is cancelled, ended by the client, or {@link endAll} runs. */
  hold(call: HoldableCall, beforeEnd?: () => void): void;
  /** Ends every held stream with status OK, running each one's `beforeEnd` first. */
  endAll(): void;
  /** How many streams are currently held. */
  readonly size: number;
}

/** Creates an empty {@link OpenStreams} registry. */
export function createOpenStreams(): OpenStreams {
  const held = new Map<HoldableCall, (() => void) | undefined>();
  let closed = false;

  function end(call: HoldableCall): void {
    const beforeEnd = held.get(call);
    held.delete(call);
    try {
      beforeEnd?.();
      call.end();
    } catch {
      // The client may already be gone; there is nothing left to tell it.
    }
  }

  return {
    hold(call, beforeEnd) {
      held.set(call, beforeEnd);
      const release = (): void => {
        held.delete(call);
      };
      call.once("cancelled", release);
      call.once("close", release);
      call.once("error", release);
      // A stream opened after shutdown began would otherwise never be ended.
      if (closed) end(call);
    },
    endAll() {
      closed = true;
      for (const call of [...held.keys()]) end(call);
    },
    get size() {
      return held.size;
    },
  };
}
