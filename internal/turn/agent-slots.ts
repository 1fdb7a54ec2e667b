// One slot per agent: the one registry that answers "busy". A turn holds its agent's slot from
// RunTurn until codex has exited; a rollout rewrite (Consume) holds it briefly. codex refuses a
// second writer on a thread ("already has an active writer"), and a turn whose process is still
// dying must not overlap the next one, so a newcomer waits for a slot that is only winding down and
// is refused while a turn is running. The provider creates the slots once and passes them down, so
// they outlive a Configure that builds a new engine.
import { AppError } from "../core/app-error.js";
import { waitAtMost } from "../core/delay.js";

/** Why a running turn was asked to stop. */
export interface CancelReason {
  kind: "cancelled" | "host_cancelled" | "shutdown";
  message: string;
}

/**
 * What occupies a slot: a turn the host sees, one winding down, a brief exclusive task, or a
 * longer one that refuses turns like a running turn does (a compaction).
 */
type SlotState = "running" | "stopping" | "brief" | "exclusive";

interface SlotEntry {
  state: SlotState;
  /** What an exclusive task does, for the busy message. */
  what?: string;
  controller: AbortController;
  /** Settles when the occupant has released the slot. */
  released: Promise<void>;
}

/** A turn's hold on its agent's slot. */
export interface TurnSlot {
  /** Aborted when the turn is cancelled (CancelTurn, the stream, shutdown). */
  readonly signal: AbortSignal;
  /** Cancels this turn only; a no-op once it has released the slot. */
  cancel(reason: unknown): void;
  /** Settles when the previous occupant (a dying process, a rewrite) is gone. */
  ready(): Promise<void>;
  /** The turn's events are over; only its process exit is outstanding. A new turn may queue. */
  markStopping(): void;
  /** The turn's process has exited. */
  release(): void;
}

/** A brief exclusive task's hold on the slot. */
export interface BriefSlot {
  release(): void;
}

/** An exclusive task's hold on the slot: cancelled by shutdown (close, cancelAll). */
export interface ExclusiveSlot {
  readonly signal: AbortSignal;
  release(): void;
}

/** The slots of every agent of the plugin. */
export class AgentSlots {
  readonly #entries = new Map<string, SlotEntry>();
  #closed: string | undefined;

  /** Takes the agent's slot for a turn; throws AGENT_BUSY while another turn is running. */
  beginTurn(agentId: string): TurnSlot {
    this.#refuseIfClosed();
    const previous = this.#entries.get(agentId);
    if (previous?.state === "running") throw busy(agentId, "already has a turn running");
    if (previous?.state === "exclusive") {
      throw busy(agentId, `is busy: ${previous.what ?? "an exclusive task"} is in progress`);
    }
    const { entry, release } = this.#occupy(agentId, "running");
    const waitFor = previous?.released ?? Promise.resolve();
    return {
      signal: entry.controller.signal,
      cancel: (reason) => {
        if (this.#entries.get(agentId) === entry) entry.controller.abort(reason);
      },
      ready: () => waitFor,
      markStopping: () => {
        entry.state = "stopping";
      },
      release,
    };
  }

  /**
   * Takes the agent's slot for a short exclusive task (a rollout rewrite). Waits for a turn that is
   * winding down and for other brief tasks; throws AGENT_BUSY while a turn is running. A turn that
   * begins meanwhile waits for this one.
   */
  async claimBrief(agentId: string, refusal: () => AppError): Promise<BriefSlot> {
    for (;;) {
      this.#refuseIfClosed();
      const current = this.#entries.get(agentId);
      if (current === undefined) break;
      if (current.state === "running") throw refusal();
      await current.released;
    }
    return { release: this.#occupy(agentId, "brief").release };
  }

  /**
   * Takes the agent's slot for an exclusive task that may take a while (a compaction): waits for a
   * turn winding down and for brief tasks; throws `refusal()` while a turn or another exclusive
   * task runs. Until it is released, a new turn is refused with AGENT_BUSY naming `what`.
   */
  async claimExclusive(
    agentId: string,
    what: string,
    refusal: () => AppError,
  ): Promise<ExclusiveSlot> {
    for (;;) {
      this.#refuseIfClosed();
      const current = this.#entries.get(agentId);
      if (current === undefined) break;
      if (current.state === "running" || current.state === "exclusive") throw refusal();
      await current.released;
    }
    const { entry, release } = this.#occupy(agentId, "exclusive");
    entry.what = what;
    return { signal: entry.controller.signal, release };
  }

  /** True while an exclusive task (a compaction) holds the agent's slot. */
  isExclusive(agentId: string): boolean {
    return this.#entries.get(agentId)?.state === "exclusive";
  }

  /** True while a turn of the agent is running (not winding down). */
  isRunning(agentId: string): boolean {
    return this.#entries.get(agentId)?.state === "running";
  }

  /** Asks the agent's running turn to stop; false when none runs. */
  cancel(agentId: string, reason: CancelReason): boolean {
    const entry = this.#entries.get(agentId);
    if (entry?.state !== "running") return false;
    entry.controller.abort(reason);
    return true;
  }

  /** Refuses new turns and consumes from now on, cancels every turn and waits as cancelAll. */
  async close(reason: CancelReason, timeoutMs: number): Promise<void> {
    this.#closed ??= reason.message;
    await this.cancelAll(reason, timeoutMs);
  }

  /** Cancels every turn and waits, at most `timeoutMs`, for the slots to be released. */
  async cancelAll(reason: CancelReason, timeoutMs: number): Promise<void> {
    const entries = [...this.#entries.values()];
    for (const entry of entries) entry.controller.abort(reason);
    await waitAtMost(Promise.all(entries.map((entry) => entry.released)), timeoutMs);
  }

  /** Turns running now. */
  get running(): number {
    let count = 0;
    for (const entry of this.#entries.values()) if (entry.state === "running") count += 1;
    return count;
  }

  #refuseIfClosed(): void {
    if (this.#closed !== undefined) throw new AppError("SHUTTING_DOWN", this.#closed);
  }

  #occupy(agentId: string, state: SlotState): { entry: SlotEntry; release: () => void } {
    let resolve!: () => void;
    const entry: SlotEntry = {
      state,
      controller: new AbortController(),
      released: new Promise<void>((done) => {
        resolve = done;
      }),
    };
    this.#entries.set(agentId, entry);
    const release = (): void => {
      if (this.#entries.get(agentId) === entry) this.#entries.delete(agentId);
      resolve();
    };
    return { entry, release };
  }
}

function busy(agentId: string, what: string): AppError {
  return new AppError(
    "AGENT_BUSY",
    `agent ${JSON.stringify(agentId)} ${what}; wait for its turn_end or cancel it first`,
    { fields: ["agent.agent_id"] },
  );
}
