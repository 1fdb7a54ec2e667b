// One running turn per agent: the registry behind the busy check, CancelTurn and shutdown.
import { AppError } from "../core/app-error.js";

/** Why a running turn was asked to stop. */
export interface CancelReason {
  kind: "cancelled" | "host_cancelled" | "shutdown";
  message: string;
}

interface RunningTurn {
  controller: AbortController;
  done: Promise<void>;
}

/** Tracks the running turn of each agent. */
export class AgentTurns {
  readonly #running = new Map<string, RunningTurn>();

  /** Registers a turn for the agent, or throws AGENT_BUSY if one is running. */
  begin(agentId: string): {
    signal: AbortSignal;
    finish: () => void;
    /** Cancels this turn only; a no-op once it finished, even if the agent runs another. */
    cancel: (reason: CancelReason) => void;
  } {
    if (this.#running.has(agentId)) {
      throw new AppError(
        "AGENT_BUSY",
        `agent ${JSON.stringify(agentId)} already has a turn running; wait for its turn_end or cancel it first`,
        { fields: ["agent.agent_id"] },
      );
    }
    const controller = new AbortController();
    let finish!: () => void;
    const done = new Promise<void>((resolve) => {
      finish = () => {
        if (this.#running.get(agentId)?.controller === controller) this.#running.delete(agentId);
        resolve();
      };
    });
    this.#running.set(agentId, { controller, done });
    return { signal: controller.signal, finish, cancel: (reason) => controller.abort(reason) };
  }

  /** True when the agent has a running turn. */
  isRunning(agentId: string): boolean {
    return this.#running.has(agentId);
  }

  /** Asks the agent's running turn to stop; false when none runs. */
  cancel(agentId: string, reason: CancelReason): boolean {
    const turn = this.#running.get(agentId);
    if (turn === undefined) return false;
    turn.controller.abort(reason);
    return true;
  }

  /** Cancels every running turn and waits, at most `timeoutMs`, for them to end. */
  async cancelAll(reason: CancelReason, timeoutMs: number): Promise<void> {
    const turns = [...this.#running.values()];
    for (const turn of turns) turn.controller.abort(reason);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeoutMs);
      timer.unref();
    });
    await Promise.race([Promise.all(turns.map((t) => t.done)), timeout]);
    clearTimeout(timer);
  }

  /** Number of turns running now. */
  get size(): number {
    return this.#running.size;
  }
}
