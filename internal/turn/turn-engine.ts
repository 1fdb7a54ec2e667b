// The turn engine for one config: turns, cancel, reset, usage and Consume for every agent, with
// codex driven by whichever backend it was given. The provider builds one per config and calls it;
// the agent slots and the process registry outlive it, so a Configure never loses a running turn.
import type { Logger } from "pino";

import { codexHomeForAgent } from "../codex/agent-codex-home.js";
import type { CodexBinaryStatus } from "../codex/binary.js";
import { quote } from "../config/limits.js";
import type { ResolvedConfig } from "../config/load-config.js";
import type { AgentId } from "../core/agent-id.js";
import { AppError } from "../core/app-error.js";
import type { CanonicalEvent, EventBatch } from "../core/canonical-event.js";
import type { Clock } from "../core/clock.js";
import type { NoticeCode } from "../core/notice-codes.js";
import type { RateLimitWindow } from "../core/rate-limits.js";
import { emptyUsage, type Usage } from "../core/usage.js";
import type { HostToolAnswer } from "../mcp/host-tool-listener.js";
import { TurnHostTools } from "../mcp/turn-host-tools.js";
import type { ProcessRegistry } from "../proc/process-registry.js";
import type { ConsumeResult } from "../rollout/consume-thread.js";
import type { ThreadStore } from "../store/thread-store.js";
import { rateLimitsOf, type UsageStore } from "../store/usage-store.js";
import type { AgentSlots, CancelReason } from "./agent-slots.js";
import type { CodexBackend, WarmThreads } from "./codex-backend.js";
import { CompactService, type CompactThreadResult } from "./compact-service.js";
import { ConsumeService } from "./consume-service.js";
import { SideEvents } from "./side-events.js";
import type { ThreadCompactor } from "./thread-compactor.js";
import type { TurnEndEvent } from "./turn-end.js";
import type { TurnRequest } from "./turn-request.js";
import { TurnRun } from "./turn-run.js";

/** codex flushes the rollout and stops MCP servers after turn.completed; that is quick. */
export const DEFAULT_EXIT_GRACE_MS = 10_000;

export interface TurnEngineOptions {
  config: ResolvedConfig;
  logger: Logger;
  /** The codex the config names, probed once (GetInfo shows the same status). */
  binary: () => Promise<CodexBinaryStatus>;
  backend: CodexBackend;
  /** The plugin's agent slots: one turn per agent, across configs. */
  slots: AgentSlots;
  store: ThreadStore;
  /** Per-agent usage totals (GetUsage), updated after every completed turn. */
  usage?: UsageStore | undefined;
  clock: Clock;
  /** The environment codex inherits. */
  env: NodeJS.ProcessEnv;
  /** Every live process of the plugin. */
  processes: ProcessRegistry;
  /** The plugin executable, which codex runs as `<path> mcp-host` for host tools. */
  selfCommand?: string | undefined;
  /** Refuse a turn without credentials before codex starts. */
  checkAuth: boolean;
  /** How long codex may take to exit after its terminal event; DEFAULT_EXIT_GRACE_MS. */
  exitGraceMs?: number;
  /** Compacts threads (CompactThread); without one, CompactThread is refused as unsupported. */
  compactor?: ThreadCompactor | undefined;
  /** The codex processes that may hold a thread between turns (the app-servers). */
  warmThreads?: WarmThreads | undefined;
}

/** A turn the host is running. */
export interface ActiveTurn {
  /** Its events, ending with exactly one turn_end. */
  readonly events: AsyncIterable<EventBatch>;
  /** Stops this turn (not a later one of the same agent). */
  cancel(reason: CancelReason): void;
  /** The host's answer to a host_tool_call of this turn; an unknown request id gets a notice. */
  answerHostTool(requestId: string, answer: HostToolAnswer): void;
  /** The host sent `start` again on this turn's stream: it is ignored, with a notice. */
  repeatedStart(): void;
}

/** An agent's usage: its totals over every completed turn, and its current thread's figure. */
export interface AgentUsage {
  total: Usage;
  turns: number;
  /** "" without a thread. */
  threadId: string;
  /** The current thread's cumulative usage. */
  thread?: Usage;
  /** The latest account rate-limit windows the agent's turns saw. */
  rateLimits: RateLimitWindow[];
}

/** What the provider calls: a TurnEngine, or a fake in tests. */
export type Engine = Pick<
  TurnEngine,
  "config" | "startTurn" | "cancelTurn" | "resetThread" | "usage" | "consume" | "compactThread"
>;

/** Runs the turns of one config. */
export class TurnEngine {
  readonly #options: TurnEngineOptions;
  readonly #consume: ConsumeService;
  readonly #compact: CompactService | undefined;

  constructor(options: TurnEngineOptions) {
    this.#options = options;
    this.#compact =
      options.compactor === undefined
        ? undefined
        : new CompactService({
            config: options.config,
            slots: options.slots,
            store: options.store,
            compactor: options.compactor,
            binary: options.binary,
            env: options.env,
            logger: options.logger,
            releaseThread: releaseFrom(options.warmThreads),
          });
    this.#consume = new ConsumeService({
      slots: options.slots,
      store: options.store,
      logger: options.logger,
      clock: options.clock,
      releaseThread: releaseFrom(options.warmThreads),
    });
  }

  /** The config this engine runs with. */
  get config(): ResolvedConfig {
    return this.#options.config;
  }

  /**
   * Starts a turn. Throws (a call error) when the agent already has a turn running or its host
   * tools cannot be served; every later failure is reported in the turn's events.
   */
  async startTurn(request: TurnRequest, signal?: AbortSignal): Promise<ActiveTurn> {
    const options = this.#options;
    const slot = options.slots.beginTurn(request.agentId);
    if (signal !== undefined) {
      const onAbort = (): void => slot.cancel(signal.reason as CancelReason);
      if (signal.aborted) onAbort();
      else signal.addEventListener("abort", onAbort, { once: true });
    }
    const logger = options.logger.child({ agent_id: request.agentId });
    const side = new SideEvents();
    let hostTools: TurnHostTools | undefined;
    try {
      hostTools = await this.#openHostTools(request, slot.signal, side, logger);
    } catch (error) {
      slot.release();
      throw error;
    }
    const run = new TurnRun(
      request,
      {
        ...options,
        binary: await options.binary(),
        exitGraceMs: options.exitGraceMs ?? DEFAULT_EXIT_GRACE_MS,
        logger,
      },
      slot,
      { events: side, hostTools },
    );
    logger.info({ model: request.model, prompt_chars: request.prompt.length }, "turn started");
    return {
      events: logEnd(run.events(), logger),
      cancel: (reason) => slot.cancel(reason),
      answerHostTool: (requestId, answer) => {
        if (hostTools?.answer(requestId, answer) === "answered") return;
        logger.warn({ request_id: requestId }, "tool_result for an unknown or finished call");
        side.push(
          hostNotice(
            "HOST_TOOL_RESULT_UNKNOWN",
            `tool_result for request ${quote(requestId)} was ignored: ` +
              (hostTools === undefined
                ? "this turn offers no host tools"
                : "no host tool call with that id is waiting (it timed out, the turn moved on, " +
                  "or the id is wrong)"),
          ),
        );
      },
      repeatedStart: () => {
        logger.warn("a second start on a running turn's stream");
        side.push(
          hostNotice(
            "HOST_START_REPEATED",
            `a second start for agent ${JSON.stringify(request.agentId)} arrived on the stream ` +
              "of its running turn and was ignored; start each turn on a new RunTurn stream",
          ),
        );
      },
    };
  }

  /** Asks the agent's running turn to stop; false when none runs. */
  cancelTurn(agentId: AgentId, reason: CancelReason): boolean {
    const cancelled = this.#options.slots.cancel(agentId, reason);
    this.#options.logger.info({ agent_id: agentId, cancelled }, "cancel requested");
    return cancelled;
  }

  /** Forgets the agent's thread; the next turn starts a new one. Refused while a turn runs. */
  async resetThread(agentId: AgentId): Promise<string | undefined> {
    const { slots, store, logger } = this.#options;
    if (slots.isRunning(agentId) || slots.isExclusive(agentId)) {
      throw new AppError(
        "AGENT_BUSY",
        `agent ${JSON.stringify(agentId)} has a turn running; cancel it before resetting its thread`,
      );
    }
    const previous = await store.reset(agentId);
    logger.info({ agent_id: agentId, previous_thread_id: previous }, "thread reset");
    return previous;
  }

  /** The agent's usage totals and its current thread's figure. */
  async usage(agentId: AgentId): Promise<AgentUsage> {
    const { usage, store } = this.#options;
    const [totals, thread] = await Promise.all([usage?.load(agentId), store.load(agentId)]);
    return {
      total: totals?.total ?? emptyUsage(),
      turns: totals?.turns ?? 0,
      threadId: thread.status === "ok" ? thread.record.thread_id : "",
      ...(thread.status === "ok" ? { thread: thread.record.usage_baseline } : {}),
      rateLimits: totals === undefined ? [] : rateLimitsOf(totals),
    };
  }

  /**
   * Rewrites consumed tool calls in the agent's thread. Refused (AGENT_BUSY) rather than queued
   * while a turn runs: the host decides when to retry, and a turn never waits behind a consume it
   * did not ask for. A turn that starts during a consume waits for it.
   */
  consume(agentId: AgentId, blockIds: readonly string[]): Promise<ConsumeResult> {
    const { config, env } = this.#options;
    // The CODEX_HOME the agent's codex runs with (its own one with per_agent_codex_home).
    return this.#consume.consume(agentId, codexHomeForAgent(config, agentId, env), blockIds);
  }

  /**
   * Compacts the agent's current thread between turns (codex's own compaction), with `model` (a
   * Plexum model id, "" = the default). Refused (AGENT_BUSY) while a turn runs; a turn that starts
   * meanwhile is refused the same way.
   */
  async compactThread(agentId: AgentId, model: string): Promise<CompactThreadResult> {
    if (this.#compact === undefined) {
      throw new AppError("CODEX_UNSUPPORTED", "this plugin's backend cannot compact threads");
    }
    return this.#compact.compact(agentId, model);
  }

  // Listens on the agent's host-tool socket for this turn, when the turn offers host tools.
  async #openHostTools(
    request: TurnRequest,
    signal: AbortSignal,
    side: SideEvents,
    logger: Logger,
  ): Promise<TurnHostTools | undefined> {
    if (request.hostTools === undefined || request.hostTools.length === 0) return undefined;
    const { config, selfCommand, env } = this.#options;
    const hostTools = await TurnHostTools.open({
      agentId: request.agentId,
      tools: request.hostTools,
      stateDir: config.stateDir,
      mcpHost: config.mcpHost,
      selfCommand,
      signal,
      emit: (event) => side.push(event),
      logger,
      env,
    });
    logger.info(
      { tools: request.hostTools.map((tool) => tool.name), server: hostTools.registration.name },
      "host tools registered",
    );
    return hostTools;
  }
}

function hostNotice(code: NoticeCode, message: string): CanonicalEvent {
  return { kind: "notice", notice: "warning", code, message };
}

// The turn's events, and one log line when it ends.
async function* logEnd(
  events: AsyncIterable<EventBatch>,
  logger: Logger,
): AsyncGenerator<EventBatch, void, undefined> {
  let end: TurnEndEvent | undefined;
  for await (const batch of events) {
    const last = batch.at(-1);
    if (last?.kind === "turn_end") end = last;
    yield batch;
  }
  logger.info(
    {
      outcome: end?.outcome,
      thread_id: end?.threadId,
      duration_ms: end?.durationMs,
      exit_code: end?.exitCode,
      error_code: end?.error?.code,
    },
    "turn ended",
  );
}

function releaseFrom(
  warm: WarmThreads | undefined,
): ((threadId: string) => Promise<void>) | undefined {
  return warm === undefined ? undefined : (threadId) => warm.releaseThread(threadId);
}
