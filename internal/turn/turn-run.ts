// Drives one agent turn through a codex backend: plans it, prepares it, runs codex (twice when the
// stored thread was lost and the policy is to go on in a new one), forwards codex's events with the
// rollout's tool calls and the host's tool calls merged in, bounds it, and ends it with exactly one
// turn_end, whatever happens, unless the consumer stops reading first.
import { performance } from "node:perf_hooks";

import type { Logger } from "pino";

import { prepareAgentCodexHome } from "../codex/agent-codex-home.js";
import type { CodexBinaryStatus } from "../codex/binary.js";
import { classifyCodexError } from "../codex/error-classifier.js";
import type { ResolvedConfig } from "../config/load-config.js";
import type { CanonicalEvent, EventBatch } from "../core/canonical-event.js";
import type { Clock } from "../core/clock.js";
import { isThreadId } from "../core/thread-id.js";
import { type TurnError, turnError } from "../core/turn-error.js";
import type { Usage } from "../core/usage.js";
import type { TurnHostTools } from "../mcp/turn-host-tools.js";
import type { ProcessRegistry } from "../proc/process-registry.js";
import type { ThreadStore } from "../store/thread-store.js";
import type { UsageStore } from "../store/usage-store.js";
import type { TurnSlot } from "./agent-slots.js";
import {
  type BackendEvent,
  type BackendExit,
  type CodexBackend,
  type CodexRun,
  isTurnFact,
  NOT_STARTED_EXIT,
  type TurnFact,
  type WarmThreads,
} from "./codex-backend.js";
import { codexRunOf, runLogFields } from "./codex-run.js";
import { DriftReport } from "./drift-report.js";
import { checkStructuredOutput } from "./output-schema.js";
import { redactEvent } from "./redact-event.js";
import type { SideEvents } from "./side-events.js";
import { ThreadSession } from "./thread-session.js";
import { TurnControl } from "./turn-control.js";
import { brokenTurn, failedBeforeCodex, turnEnd, type TurnEndFields } from "./turn-end.js";
import { decideOutcome } from "./turn-outcome.js";
import { planTurn, type TurnPlan } from "./turn-plan.js";
import type { TurnRequest } from "./turn-request.js";
import { TurnRollout } from "./turn-rollout.js";
import { finishTurnDiff, prepareTurnSetup, type TurnSetup } from "./turn-setup.js";

/** What a turn uses besides its request; the engine's, for one config. */
export interface TurnRunDeps {
  config: ResolvedConfig;
  binary: CodexBinaryStatus;
  backend: CodexBackend;
  store: ThreadStore;
  /** Per-agent usage totals (GetUsage). */
  usage?: UsageStore | undefined;
  clock: Clock;
  /** The environment codex inherits. */
  env: NodeJS.ProcessEnv;
  processes: ProcessRegistry;
  /** Refuse a turn without credentials before codex starts (see turn-plan.ts). */
  checkAuth: boolean;
  /** How long codex may take to exit after its terminal event before it is stopped. */
  exitGraceMs: number;
  /** The turn's logger (with its agent id). */
  logger: Logger;
  /** The codex processes that may hold a thread between turns (the app-servers). */
  warmThreads?: WarmThreads | undefined;
}

/** While codex floods its output, the rollout is read for tool calls at most this often. */
const ROLLOUT_POLL_MS = 100;

/** One turn. */
export class TurnRun {
  readonly #request: TurnRequest;
  readonly #deps: TurnRunDeps;
  readonly #slot: TurnSlot;
  readonly #hostTools: TurnHostTools | undefined;
  /** Host tool calls and notices about the host's messages, merged into the stream. */
  readonly #side: SideEvents;
  readonly #drift: DriftReport;
  readonly #logger: Logger;
  readonly #startedAt = performance.now();
  #plan: TurnPlan | undefined;
  #setup: TurnSetup | undefined;
  #session: ThreadSession | undefined;
  #rollout: TurnRollout | undefined;
  #control: TurnControl | undefined;
  /** Settles when the last codex run has exited. */
  #exited: Promise<unknown> = Promise.resolve();
  #codexStarted = false;
  #ended = false;
  // thread_lost_policy "fail" stopped codex: nothing more of its output is forwarded.
  #discard = false;
  #completed = false;
  #failure: TurnError | undefined;
  #turnUsage: Usage | undefined;
  #finalText = "";

  constructor(
    request: TurnRequest,
    deps: TurnRunDeps,
    slot: TurnSlot,
    side: { events: SideEvents; hostTools?: TurnHostTools | undefined },
  ) {
    this.#request = request;
    this.#deps = deps;
    this.#slot = slot;
    this.#side = side.events;
    this.#hostTools = side.hostTools;
    this.#logger = deps.logger;
    this.#drift = new DriftReport(deps.binary.version);
  }

  /** The turn's events; exactly one turn_end, last. Stopping early stops codex. */
  async *events(): AsyncGenerator<EventBatch, void, undefined> {
    // Nothing listens for host tool calls once the turn has ended.
    const merged = this.#side.merge(
      this.#run(),
      () => void this.#hostTools?.close("the turn ended"),
    );
    try {
      for await (const batch of merged) yield this.#redact(this.#checked(batch));
    } catch (error) {
      if (this.#ended) throw error;
      this.#logger.error({ err: error }, "turn failed inside the plugin");
      this.#control?.interrupt({ kind: "consumer", message: "plugin error" });
      await this.#exited;
      yield this.#redact(
        brokenTurn(error, {
          codexStarted: this.#codexStarted,
          threadId: this.#session?.threadId ?? "",
          finalText: this.#finalText,
          durationMs: performance.now() - this.#startedAt,
        }),
      );
      this.#ended = true;
    } finally {
      // The consumer stopped early, or a bug threw: the process must not outlive the turn.
      if (!this.#ended) {
        this.#control?.interrupt({ kind: "consumer", message: "the consumer stopped reading" });
      }
      this.#control?.finish();
      await this.#hostTools?.close("the turn ended");
      this.#slot.markStopping();
      // codex has read the images and the schema by then; the agent's next turn waits for this.
      void this.#exited.then(() => this.#setup?.cleanup()).finally(() => this.#slot.release());
    }
  }

  // A host tool call without codex's call id: drift (codex 0.169.0 sends _meta.callId).
  #checked(batch: EventBatch): EventBatch {
    const withoutCallId = batch.find(
      (event) => event.kind === "host_tool_call" && event.callId === "",
    );
    if (withoutCallId === undefined) return batch;
    const drift = this.#drift.notice("mcp_call_id_missing", JSON.stringify(withoutCallId));
    return drift === undefined ? batch : [drift, ...batch];
  }

  async *#run(): AsyncGenerator<EventBatch, void, undefined> {
    const { config, binary, env, checkAuth } = this.#deps;
    const planned = await planTurn(this.#request, config, binary, { env, checkAuth });
    if (!planned.ok) return yield this.#failedEarly(planned.error);
    const plan = planned.plan;
    this.#plan = plan;
    const control = new TurnControl({
      turnMs: plan.turnTimeoutMs,
      idleMs: plan.idleTimeoutMs,
      firstEventMs: plan.firstEventTimeoutMs,
      signal: this.#slot.signal,
      exitGraceMs: this.#deps.exitGraceMs,
      logger: this.#logger,
    });
    this.#control = control;
    const cancelled = control.hostCause();
    if (cancelled !== undefined) {
      const message = `${cancelled.message} before codex started`;
      return yield [this.#end({ outcome: "cancelled", message })];
    }
    // A previous turn of the agent may still be winding down, or its rollout being rewritten.
    await this.#slot.ready();
    if (config.perAgentCodexHome) {
      try {
        await prepareAgentCodexHome(config, plan.agentId, env);
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        return yield this.#failedEarly(turnError("NOT_CONFIGURED", reason));
      }
    }
    const setup = await prepareTurnSetup(plan, config.stateDir, this.#deps.processes);
    if (!setup.ok) return yield this.#failedEarly(setup.error);
    this.#setup = setup.setup;
    const { store, usage, clock, logger } = this.#deps;
    const place = { agentId: plan.agentId, codexHome: plan.codexHome, store, usage, logger };
    this.#session = new ThreadSession({ ...place, policy: plan.threadLostPolicy });
    this.#rollout = new TurnRollout({ ...place, clock, drift: this.#drift });
    const record = yield* singly(this.#session.prepare());
    if (record !== undefined) await this.#rollout.prepareResume(record);
    // A second run only when the stored thread was lost and the policy is to start a new one.
    while (yield* this.#runCodex()) logger.info("starting codex again in a new thread");
  }

  /** One codex run; returns true when the turn goes on in a new thread (thread lost). */
  async *#runCodex(): AsyncGenerator<EventBatch, boolean, undefined> {
    const session = this.#session as ThreadSession;
    const rollout = this.#rollout as TurnRollout;
    const control = this.#control as TurnControl;
    // A bound fired between two runs: the next one does not start.
    if (control.cause !== undefined) {
      yield* singly(this.#finish(NOT_STARTED_EXIT));
      return false;
    }
    const run = this.#codexRun();
    const { backend, warmThreads } = this.#deps;
    if (run.resumeThreadId !== undefined && !backend.keepsThreadsLoaded) {
      // A warm app-server (the config was switched from that backend) may hold the thread.
      await warmThreads?.releaseThread(run.resumeThreadId);
    }
    const started = backend.start(run, control.beginRun());
    this.#codexStarted = true;
    this.#exited = started.exit;
    let lastPoll = Number.NEGATIVE_INFINITY;
    for await (const batch of started.batches) {
      yield* this.#forward(batch.events);
      // Tool calls codex has written to its rollout by now, with their real call ids. Each read
      // costs a few file operations, so while codex floods its output (more is already buffered)
      // the rollout is read at most every ROLLOUT_POLL_MS; once codex pauses, at once.
      const now = performance.now();
      if (!this.#discard && (batch.caughtUp || now - lastPoll >= ROLLOUT_POLL_MS)) {
        lastPoll = now;
        yield* this.#held(rollout.poll());
      }
    }
    const exit = await started.exit;
    control.endRun();
    if (yield* singly(this.#resumeFailed(exit))) return true;
    control.finish();
    yield* singly(rollout.finish(this.#completed || session.resumed));
    yield* singly(this.#finish(exit));
    return false;
  }

  #codexRun(): CodexRun {
    const { binary, backend } = this.#deps;
    const plan = this.#plan as TurnPlan;
    const run = codexRunOf({
      plan,
      setup: this.#setup as TurnSetup,
      binary,
      resumeThreadId: this.#session?.resumeId,
      mcpServers: this.#hostTools === undefined ? [] : [this.#hostTools.registration],
      logger: this.#logger,
    });
    this.#logger.info(runLogFields(run, plan, backend.name), "starting codex turn");
    return run;
  }

  /**
   * Forwards the events of one batch: feeds the watchdog, hands the plain events over together and
   * the facts that change the turn's state (thread started, turn completed or failed) one by one.
   */
  async *#forward(events: readonly BackendEvent[]): AsyncGenerator<EventBatch, void, undefined> {
    let ready: CanonicalEvent[] = [];
    for (const event of events) {
      if (this.#discard) continue;
      this.#control?.observe(event);
      if (!isTurnFact(event)) {
        if (event.kind === "text") this.#finalText = event.text;
        ready.push(event);
        continue;
      }
      yield* this.#hold(ready);
      ready = [];
      yield* this.#held(this.#handle(event));
      yield* this.#held(this.#session?.reportStoreFailure() ?? []);
    }
    yield* this.#hold(ready);
  }

  /** While the consumer holds a batch, codex is stalled by back-pressure, not idle. */
  async *#hold(batch: EventBatch): AsyncGenerator<EventBatch, void, undefined> {
    if (batch.length === 0) return;
    this.#control?.pause();
    try {
      yield batch;
    } finally {
      this.#control?.resume();
    }
  }

  async *#held(
    events: AsyncIterable<CanonicalEvent> | Iterable<CanonicalEvent>,
  ): AsyncGenerator<EventBatch, void, undefined> {
    for await (const event of events) yield* this.#hold([event]);
  }

  async *#handle(fact: TurnFact): AsyncGenerator<CanonicalEvent, void, undefined> {
    const session = this.#session as ThreadSession;
    if (fact.kind === "drift") {
      const notice = this.#drift.notice(fact.drift, fact.sample);
      if (notice !== undefined) yield notice;
      return;
    }
    if (fact.kind === "thread_started") {
      if (!isThreadId(fact.threadId)) {
        // Never stored, resumed or put in a path; nothing codex does in it can be mirrored.
        this.#discard = true;
        const message =
          `codex announced thread ${JSON.stringify(fact.threadId.slice(0, 80))}, which is not a ` +
          "codex thread id (a UUID); nothing was stored and codex was stopped";
        this.#control?.interrupt({
          kind: "codex_output",
          code: "CODEX_THREAD_ID_INVALID",
          message,
        });
        return;
      }
      const lost = yield* session.threadStarted(fact.threadId);
      if (lost !== undefined) {
        this.#discard = true;
        this.#control?.interrupt({ kind: "thread_lost", message: `thread lost: ${lost}` });
        return;
      }
      this.#rollout?.threadStarted(session.threadId);
      const plan = this.#plan as TurnPlan;
      yield {
        kind: "turn_started",
        threadId: session.threadId,
        resumed: session.resumed,
        model: plan.cliModel ?? "",
        sandbox: plan.sandbox,
        codexVersion: this.#deps.binary.version,
        worktreePath: this.#setup?.worktreePath ?? "",
        policy: plan.policy,
      };
      return;
    }
    this.#control?.terminal();
    if (fact.kind === "turn_completed") {
      this.#completed = true;
      this.#turnUsage = yield* session.turnCompleted(fact.usage);
      return;
    }
    this.#failure = fact.error;
    await session.turnFailed();
    yield { kind: "error", error: fact.error };
  }

  /**
   * Codex exited 1 with "no rollout found for thread id" before announcing a thread: the stored
   * thread is gone. Returns true when the policy is to go on in a new thread.
   */
  async *#resumeFailed(exit: BackendExit): AsyncGenerator<CanonicalEvent, boolean, undefined> {
    const session = this.#session as ThreadSession;
    if (session.resumeId === undefined || session.announced || this.#control?.cause !== undefined) {
      return false;
    }
    if (exit.exitCode === undefined || exit.exitCode === 0) return false;
    const fatal = exit.fatalMessage;
    if (fatal === undefined || classifyCodexError(fatal).code !== "THREAD_NOT_FOUND") return false;
    const retry = this.#plan?.threadLostPolicy === "new_thread" && !this.#control?.hostCancelled;
    // Failing: the outcome forgets the thread and reports THREAD_NOT_FOUND.
    return yield* session.resumeFailed(fatal, retry);
  }

  async *#finish(exit: BackendExit): AsyncGenerator<CanonicalEvent, void, undefined> {
    const session = this.#session as ThreadSession;
    const plan = this.#plan as TurnPlan;
    await session.forgetUnresumable(this.#failure !== undefined);
    yield* session.reportStoreFailure();
    this.#logger.info(
      { exit_code: exit.exitCode, signal: exit.signal, duration_ms: exit.durationMs },
      "codex exited",
    );
    const diff = await finishTurnDiff(this.#setup as TurnSetup, plan.diffMaxBytes);
    if (diff?.reason !== undefined) {
      this.#logger.warn({ reason: diff.reason }, "turn diff unavailable");
      yield notice(`the turn's diff is unavailable: ${diff.reason}`);
    }
    const schema = plan.outputSchema;
    const outcome = decideOutcome({
      completed: this.#completed,
      structuredOutput:
        this.#completed && schema !== undefined
          ? checkStructuredOutput(schema, this.#finalText)
          : undefined,
      failure: this.#failure,
      stop: this.#control?.cause,
      exit,
      resuming: session.resumeId !== undefined,
      codexPath: this.#deps.binary.path,
      now: new Date(this.#deps.clock.now()),
    });
    if (outcome.forgetStoredThread && session.resumeId !== undefined) {
      await session.forget(session.resumeId);
    }
    if (outcome.announceError && outcome.error !== undefined) {
      yield { kind: "error", error: outcome.error };
    }
    yield this.#end({
      outcome: outcome.outcome,
      message: outcome.message,
      error: outcome.error,
      usage: this.#turnUsage,
      exit,
      structuredOutputJson: outcome.structuredOutputJson,
      diff: diff?.diff,
      contextWindow: this.#rollout?.contextWindow,
    });
  }

  #failedEarly(error: TurnError): EventBatch {
    this.#ended = true;
    return failedBeforeCodex(error, performance.now() - this.#startedAt);
  }

  #end(fields: Omit<TurnEndFields, "threadId" | "finalText" | "durationMs">): CanonicalEvent {
    this.#ended = true;
    return turnEnd({
      ...fields,
      threadId: this.#session?.threadId ?? "",
      finalText: this.#finalText,
      durationMs: performance.now() - this.#startedAt,
    });
  }

  #redact(batch: EventBatch): EventBatch {
    // Keys given to codex are scrubbed from everything the turn reports, whatever printed them.
    const secrets = this.#plan?.provider.secrets ?? [];
    return secrets.length === 0 ? batch : batch.map((event) => redactEvent(event, secrets));
  }
}

function notice(message: string): CanonicalEvent {
  return { kind: "notice", notice: "warning", message };
}

/** The events of a generator one batch each, and its return value. */
async function* singly<R>(
  events: AsyncGenerator<CanonicalEvent, R, undefined>,
): AsyncGenerator<EventBatch, R, undefined> {
  try {
    for (;;) {
      const next = await events.next();
      if (next.done === true) return next.value;
      yield [next.value];
    }
  } finally {
    // Closes `events` when the consumer stopped early (a no-op once it is done).
    await events.return(undefined as R);
  }
}
