// Events of a turn that do not come from its codex run: the host's tool calls, and notices about the
// host's own messages. They are merged into the run's stream as they happen, never after turn_end.
import type { CanonicalEvent, EventBatch } from "../core/canonical-event.js";

/** The side events of one turn. */
export class SideEvents {
  #items: CanonicalEvent[] = [];
  #wake: (() => void) | undefined;
  #ready: Promise<void> | undefined;
  #ended = false;

  /** Queues `event` for the stream; dropped once the turn has ended. */
  push(event: CanonicalEvent): void {
    if (this.#ended) return;
    this.#items.push(event);
    this.#wake?.();
    this.#wake = undefined;
    this.#ready = undefined;
  }

  /**
   * The run's batches with the side events merged in as they arrive. `beforeEnd` runs before the
   * turn_end batch is passed on (e.g. to stop listening for host tool calls), and nothing follows
   * turn_end.
   */
  async *merge(
    run: AsyncIterable<EventBatch>,
    beforeEnd: () => void,
  ): AsyncGenerator<EventBatch, void, undefined> {
    const iterator = run[Symbol.asyncIterator]();
    type Next = { source: "run"; result: IteratorResult<EventBatch> } | { source: "side" };
    // Both kept until they win, so racing them again adds no callbacks.
    let runNext: Promise<Next> | undefined;
    let sideNext: Promise<Next> | undefined;
    try {
      for (;;) {
        const queued = this.#items.splice(0);
        for (const item of queued) yield [item];
        runNext ??= iterator.next().then((result) => ({ source: "run", result }) as const);
        sideNext ??= this.#whenReady().then(() => ({ source: "side" }) as const);
        const next = await Promise.race([runNext, sideNext]);
        if (next.source === "side") {
          sideNext = undefined;
          continue;
        }
        runNext = undefined;
        if (next.result.done === true) return;
        const batch = next.result.value;
        if (batch.at(-1)?.kind === "turn_end") {
          this.#ended = true;
          beforeEnd();
        }
        yield batch;
        if (this.#ended) return;
      }
    } finally {
      this.#ended = true;
      // Pending only if the consumer stopped early; the run stops codex itself then.
      if (runNext === undefined) await iterator.return?.();
      else
        void runNext.then(
          () => iterator.return?.(),
          () => undefined,
        );
    }
  }

  /** The same promise until an item arrives, so racing it repeatedly adds no listeners. */
  #whenReady(): Promise<void> {
    if (this.#items.length > 0) return Promise.resolve();
    this.#ready ??= new Promise<void>((resolve) => {
      this.#wake = resolve;
    });
    return this.#ready;
  }
}
