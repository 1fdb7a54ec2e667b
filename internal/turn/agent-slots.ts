// One codex process per agent at a time. codex refuses a second writer on a thread ("already has
// an active writer"), and a turn whose process is still dying must not overlap the next one.

interface ActiveTurn {
  /** True once the turn's events are over and only the process exit is outstanding. */
  stopping: boolean;
  idle: Promise<void>;
}

/** A claimed agent slot; release it once the codex process has exited. */
export interface AgentTurnClaim {
  markStopping(): void;
  release(): void;
}

const active = new Map<string, ActiveTurn>();

/**
 * Claims the agent for one turn. Waits for a previous turn that is only shutting down; returns
 * undefined when another turn of the agent is still running. A `brief` claim (a short exclusive
 * task such as a rollout rewrite) is one that later claimants wait for instead of being refused.
 */
export async function claimAgentTurn(
  agentId: string,
  options: { brief?: boolean } = {},
): Promise<AgentTurnClaim | undefined> {
  for (;;) {
    const current = active.get(agentId);
    if (current === undefined) break;
    if (!current.stopping) return undefined;
    await current.idle;
  }
  let resolveIdle!: () => void;
  const entry: ActiveTurn = {
    stopping: options.brief === true,
    idle: new Promise<void>((resolve) => {
      resolveIdle = resolve;
    }),
  };
  active.set(agentId, entry);
  return {
    markStopping: () => {
      entry.stopping = true;
    },
    release: () => {
      if (active.get(agentId) === entry) active.delete(agentId);
      resolveIdle();
    },
  };
}

/** Resolves once no codex process of the agent is running (e.g. before rewriting its rollout). */
export async function waitForAgentIdle(agentId: string): Promise<void> {
  for (;;) {
    const current = active.get(agentId);
    if (current === undefined) return;
    await current.idle;
  }
}
