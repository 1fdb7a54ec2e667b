// Runs one agent turn: `codex exec --json [resume <id>] -` in the workspace, mapped to canonical
// events. Every path ends with exactly one `turn_end`, unless the consumer stops iterating first.
import { performance } from "node:perf_hooks";

import type { Logger } from "pino";

import type { Clock } from "../core/clock.js";
import type { ResolvedConfig } from "../config/load-config.js";
import { isAppError } from "../core/app-error.js";
import type { TurnDiff } from "../git/turn-diff.js";
import { LineSplitter, type SplitLine } from "../jsonl/line-splitter.js";
import type { ProcessLedger } from "../proc/process-ledger.js";
import { type ProcessResult, type SupervisedProcess, superviseProcess } from "../proc/supervise.js";
import { TurnRollout } from "./turn-rollout.js";
import type { ThreadStore } from "../store/thread-store.js";
import type { UsageStore } from "../store/usage-store.js";
import { codexHomeForAgent, prepareAgentCodexHome } from "../codex/agent-codex-home.js";
import { claimAgentTurn } from "./agent-slots.js";
import type { CodexBinaryStatus } from "../codex/binary.js";
import {
  type CanonicalEvent,
  emptyUsage,
  type EventBatch,
  type TurnError,
  type TurnOutcome,
  type Usage,
} from "../core/canonical-event.js";
import { buildChildEnv } from "../codex/child-env.js";
import { classifyCodexError, classifyNetworkStall } from "../codex/error-classifier.js";
import { CodexEventMapper, type MapperOutput } from "../exec/event-mapper.js";
import { buildExecArgs } from "../exec/exec-args.js";
import type { McpServerRegistration } from "../exec/mcp-server-overrides.js";
import { checkStructuredOutput } from "./output-schema.js";
import { redactEvent } from "./redact-event.js";
import { findRolloutFile } from "../codex/codex-home.js";
import { planTurn, type TurnPlan } from "./turn-plan.js";
import type { TurnRequest } from "./turn-request.js";
import { finishTurnDiff, prepareTurnSetup, type TurnSetup } from "./turn-setup.js";
import { TurnWatchdog } from "./turn-watchdog.js";
import { computeUsageDelta } from "../core/usage.js";

export interface TurnDeps {
  config: ResolvedConfig;
  logger: Logger;
  binary: CodexBinaryStatus;
  store: ThreadStore;
  /** The environment codex inherits; process.env by default. */
  env?: NodeJS.ProcessEnv;
  /** How long codex may take to exit after its terminal event before it is stopped. */
  exitGraceMs?: number;
  /** MCP servers registered for this run only (the host-tool bridge). */
  mcpServers?: readonly McpServerRegistration[];
  /** Per-agent usage totals, updated after every completed turn (GetUsage). */
  usage?: UsageStore;
  /** Refuse a turn without credentials before spawning codex (see PlanOptions.checkAuth). */
  checkAuth?: boolean;
  /** Records every codex process in the state dir, so a later plugin can reap it after a crash. */
  ledger?: ProcessLedger;
  /** The wall clock: codex names its session directories by date. */
  clock: Clock;
}

/** codex flushes the rollout and stops MCP servers after turn.completed; that is quick. */
export const DEFAULT_EXIT_GRACE_MS = 10_000;

/** While codex floods stdout, the rollout is read for tool calls at most this often. */
const ROLLOUT_POLL_MS = 100;

type TurnEnd = Extract<CanonicalEvent, { kind: "turn_end" }>;

/** {@link runTurnBatches}, one event at a time. */
export async function* runTurn(
  request: TurnRequest,
  deps: TurnDeps,
  signal: AbortSignal,
): AsyncGenerator<CanonicalEvent, void, undefined> {
  for await (const batch of runTurnBatches(request, deps, signal)) yield* batch;
}

/**
 * Runs one turn. Aborting `signal` (reason "cancelled", or a TimeoutError) interrupts codex and
 * escalates to killing its process group; so does stopping the iteration early. Codex's stdout is
 * only read as fast as the batches are consumed. Batches, because a flood of small events costs
 * per hand-over (a promise per event per generator level), not per byte.
 */
export async function* runTurnBatches(
  request: TurnRequest,
  deps: TurnDeps,
  signal: AbortSignal,
): AsyncGenerator<EventBatch, void, undefined> {
  const startedAt = performance.now();
  const planned = await planTurn(request, deps.config, deps.binary, {
    ...(deps.env === undefined ? {} : { env: deps.env }),
    ...(deps.checkAuth === undefined ? {} : { checkAuth: deps.checkAuth }),
  });
  if (!planned.ok) {
    yield failedEarly(startedAt, planned.error);
    return;
  }
  if (signal.aborted) {
    const cause = abortCause(signal.reason);
    yield [
      endEvent(startedAt, {
        outcome: "cancelled",
        message: `${cause.message} before codex started`,
      }),
    ];
    return;
  }
  const claim = await claimAgentTurn(request.agentId);
  if (claim === undefined) {
    const error: TurnError = {
      class: "precondition",
      code: "AGENT_BUSY",
      message: `agent ${request.agentId} already has a turn running`,
      retryable: true,
    };
    yield failedEarly(startedAt, error);
    return;
  }
  if (deps.config.perAgentCodexHome) {
    try {
      await prepareAgentCodexHome(deps.config, request.agentId, deps.env ?? process.env);
    } catch (error) {
      claim.release();
      const homeError: TurnError = {
        class: "precondition",
        code: "NOT_CONFIGURED",
        message: error instanceof Error ? error.message : String(error),
        retryable: false,
      };
      yield failedEarly(startedAt, homeError);
      return;
    }
  }
  // Scratch files, the worktree and the diff's start snapshot (turn-setup.ts).
  const setup = await prepareTurnSetup(planned.plan, deps.config.stateDir);
  if (!setup.ok) {
    claim.release();
    yield failedEarly(startedAt, setup.error);
    return;
  }
  const turn = new Turn(planned.plan, deps, signal, startedAt, setup.setup);
  const secrets = planned.plan.provider.secrets;
  try {
    // Keys given to codex are scrubbed from everything the turn reports, whatever printed them.
    for await (const batch of turn.run()) {
      yield secrets.length === 0 ? batch : batch.map((event) => redactEvent(event, secrets));
    }
  } finally {
    claim.markStopping();
    // Runs when the consumer stopped early too: the process must not outlive the turn.
    turn.stop();
    // codex has read the images and the schema by then; the agent's next turn waits for this.
    void turn.exited.then(() => setup.setup.cleanup()).finally(() => claim.release());
  }
}

interface EndFields {
  outcome: TurnOutcome;
  message: string;
  threadId?: string;
  finalText?: string;
  usage?: Usage | undefined;
  error?: TurnError | undefined;
  result?: ProcessResult | undefined;
  structuredOutputJson?: string | undefined;
  diff?: TurnDiff | undefined;
}

/** A turn that failed before codex ran: its error and its end. */
function failedEarly(startedAt: number, error: TurnError): EventBatch {
  return [
    { kind: "error", error },
    endEvent(startedAt, { outcome: "failed", message: error.message, error }),
  ];
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

function endEvent(startedAt: number, fields: EndFields): TurnEnd {
  const end: TurnEnd = {
    kind: "turn_end",
    outcome: fields.outcome,
    message: fields.message,
    threadId: fields.threadId ?? "",
    finalText: fields.finalText ?? "",
    stderrTail: fields.result?.stderrTail ?? "",
    durationMs: Math.round(performance.now() - startedAt),
  };
  if (fields.usage !== undefined) end.usage = fields.usage;
  if (fields.error !== undefined) end.error = fields.error;
  if (fields.result?.exitCode !== undefined) end.exitCode = fields.result.exitCode;
  if (fields.result?.signal !== undefined) end.signal = fields.result.signal;
  if (fields.structuredOutputJson !== undefined) {
    end.structuredOutputJson = fields.structuredOutputJson;
  }
  if (fields.diff !== undefined) end.diff = fields.diff;
  return end;
}

type StopCause = {
  kind: "cancelled" | "timeout" | "consumer" | "linger" | "thread_lost";
  message: string;
  /** Set by the plugin's own bounds (TURN_TIMEOUT …); a host deadline has none. */
  code?: string;
};

function abortCause(reason: unknown): StopCause {
  if (reason instanceof Error && reason.name === "TimeoutError") {
    return { kind: "timeout", message: "turn deadline exceeded (host timeout)" };
  }
  if (typeof reason === "string" && reason !== "" && reason !== "cancelled") {
    return { kind: "cancelled", message: `turn cancelled: ${reason}` };
  }
  // Errors and plain `{ message }` objects (the provider's cancel reasons) say why themselves.
  const message = (reason as { message?: unknown } | null | undefined)?.message;
  const isDefaultAbort = reason instanceof Error && reason.name === "AbortError";
  if (typeof message === "string" && message !== "" && !isDefaultAbort) {
    return { kind: "cancelled", message: `turn cancelled: ${message}` };
  }
  return { kind: "cancelled", message: "turn cancelled by the host" };
}

/** The state of one running turn. */
class Turn {
  readonly #plan: TurnPlan;
  readonly #deps: TurnDeps;
  readonly #signal: AbortSignal;
  readonly #startedAt: number;
  readonly #logger: Logger;
  readonly #mapper = new CodexEventMapper();
  /** Mirrors codex's rollout: tool calls with their real call ids. */
  readonly #rollout: TurnRollout;
  #child: SupervisedProcess | undefined;
  #exited: Promise<ProcessResult | undefined> = Promise.resolve(undefined);
  #stopProcess: ((cause: StopCause) => void) | undefined;
  #stopCause: StopCause | undefined;
  #exitGraceTimer: NodeJS.Timeout | undefined;
  #finished = false;
  // Lifecycle bounds (turn-watchdog.ts), one for the whole turn.
  #watchdog: TurnWatchdog | undefined;
  #lastRetryNotice: string | undefined;
  // The thread_lost_policy "fail" stopped codex: nothing more of its output is forwarded.
  #discardEvents = false;
  #storeFailure: unknown;
  #storeFailureReported = false;

  // Thread bookkeeping.
  #resumeId: string | undefined;
  #threadId = "";
  #resumed = false;
  #baseline: Usage = emptyUsage();
  #threadAnnounced = false;

  // Turn facts from the stream.
  #turnUsage: Usage | undefined;
  #completed = false;
  #failure: TurnError | undefined;

  /** Scratch files, cwd and diff snapshot of this turn (turn-setup.ts). */
  readonly #setup: TurnSetup;
  /** Structured output and diff, gathered once codex has exited. */
  #endExtras: Pick<EndFields, "structuredOutputJson" | "diff"> = {};

  constructor(
    plan: TurnPlan,
    deps: TurnDeps,
    signal: AbortSignal,
    startedAt: number,
    setup: TurnSetup,
  ) {
    this.#setup = setup;
    this.#plan = plan;
    this.#deps = deps;
    this.#signal = signal;
    this.#startedAt = startedAt;
    this.#logger = deps.logger.child({ agent_id: plan.agentId });
    this.#rollout = new TurnRollout({
      codexHome: codexHomeForAgent(deps.config, plan.agentId, deps.env),
      store: deps.store,
      agentId: plan.agentId,
      logger: this.#logger,
      clock: deps.clock,
    });
  }

  /** Settles when the codex process (if any) has exited and been reaped. */
  get exited(): Promise<ProcessResult | undefined> {
    return this.#exited;
  }

  /** Kills the process if the turn did not reach its end (consumer stopped, or a bug threw). */
  stop(): void {
    if (!this.#finished)
      this.#stopProcess?.({ kind: "consumer", message: "the consumer stopped reading" });
  }

  async *run(): AsyncGenerator<EventBatch, void, undefined> {
    try {
      yield* singly(this.#prepareThread());
      // A second run only when the stored thread was lost and the policy is to start a new one.
      while (yield* this.#runCodex()) this.#logger.info("starting codex again in a new thread");
    } catch (error) {
      // A bug or an I/O failure in the plugin itself: still end the turn properly.
      this.#logger.error({ err: error }, "turn failed inside the plugin");
      const turnError: TurnError = {
        class: "internal",
        // e.g. THREAD_STORE_FAILED: the thread state could not be read, so codex never ran.
        code: isAppError(error) ? error.code : "INTERNAL",
        message: `plugin error during the turn: ${error instanceof Error ? error.message : String(error)}${appErrorCause(error)}`,
        retryable: false,
      };
      this.#stopProcess?.({ kind: "consumer", message: "plugin error" });
      const result = await this.#exited;
      yield [
        { kind: "error", error: turnError },
        this.#end({
          outcome: this.#child === undefined ? "failed" : "crashed",
          message: turnError.message,
          error: turnError,
          result,
        }),
      ];
    } finally {
      this.#watchdog?.stop();
    }
  }

  async *#prepareThread(): AsyncGenerator<CanonicalEvent, void, undefined> {
    const { store } = this.#deps;
    const loaded = await store.load(this.#plan.agentId);
    if (loaded.status === "corrupt") {
      const movedTo = await store.quarantineCorrupt(this.#plan.agentId);
      this.#logger.warn(
        { path: loaded.path, reason: loaded.reason, movedTo },
        "corrupt thread state",
      );
      yield notice(
        "warning",
        `stored thread state ${loaded.path} is corrupt (${loaded.reason}); moved it to ${movedTo ?? "(gone)"} ` +
          "and starting a new thread",
      );
      return;
    }
    if (loaded.status === "none") return;
    const { record } = loaded;
    if (!record.confirmed) {
      // The thread's first turn never finished, so codex may never have written its rollout;
      // resuming it would fail with "no rollout found".
      const codexHome = codexHomeForAgent(this.#deps.config, this.#plan.agentId, this.#deps.env);
      if ((await findRolloutFile(codexHome, record.thread_id)) === undefined) {
        yield notice(
          "warning",
          `stored thread ${record.thread_id} never finished a turn and has no rollout in ${codexHome}; ` +
            "starting a new thread",
        );
        return;
      }
    }
    this.#resumeId = record.thread_id;
    this.#baseline = { ...record.usage_baseline };
    await this.#rollout.prepareResume(record);
  }

  /** One codex process; returns true when the turn should go on in a new thread (thread lost). */
  async *#runCodex(): AsyncGenerator<EventBatch, boolean, undefined> {
    const { config, binary } = this.#deps;
    const plan = this.#plan;
    const args = buildExecArgs({
      sandbox: plan.sandbox,
      model: plan.cliModel,
      workspace: this.#setup.cwd,
      configOverrides: plan.configOverrides,
      mcpServers: this.#deps.mcpServers,
      extraArgs: config.extraArgs,
      resumeThreadId: this.#resumeId,
      // Re-asserted on every turn, resumed or not (codex does not restore them on resume).
      writableDirs: plan.policy.writableDirs,
      networkAccess: plan.policy.networkAccess,
      images: this.#setup.imagePaths,
      outputSchemaPath: this.#setup.outputSchemaPath,
    });
    this.#logger.info(
      {
        resume: this.#resumeId,
        model: plan.cliModel,
        sandbox: plan.sandbox,
        codex: binary.path,
        // Keys only: override values may be secrets.
        overrides: plan.configOverrides.map((assignment) => assignment.split("=", 1)[0]),
        provider: plan.provider.description,
        mcp_servers: this.#deps.mcpServers?.map((server) => server.name),
      },
      "starting codex turn",
    );
    const child = superviseProcess({
      file: binary.path,
      args,
      cwd: this.#setup.cwd,
      env: buildChildEnv(this.#deps.env ?? process.env, {
        codexHome: config.perAgentCodexHome
          ? codexHomeForAgent(config, plan.agentId, this.#deps.env)
          : config.codexHome,
        // Each agent's own databases; an inherited CODEX_SQLITE_HOME would share them again.
        sqliteHome: config.perAgentCodexHome
          ? codexHomeForAgent(config, plan.agentId, this.#deps.env)
          : undefined,
        helperPathDir: binary.helperPathDir,
        set: plan.provider.envSet,
        unset: plan.provider.envUnset,
      }),
      input: plan.prompt,
      interruptGraceMs: config.timeouts.interruptGraceMs,
      terminateGraceMs: config.timeouts.terminateGraceMs,
      logger: this.#logger,
      accounting: this.#deps.ledger?.track({ agentId: plan.agentId }),
    });
    this.#child = child;
    this.#exited = child.result;
    this.#stopProcess = (cause) => {
      this.#stopCause ??= cause;
      child.terminate(cause.message);
    };

    const onAbort = (): void => this.#stopProcess?.(abortCause(this.#signal.reason));
    this.#signal.addEventListener("abort", onAbort, { once: true });
    // The signal may have fired while the thread state was loading.
    if (this.#signal.aborted) onAbort();
    this.#startWatchdog();

    try {
      const splitter = new LineSplitter();
      try {
        // Pull-based: while the consumer has not asked for the next event, no more is read, the
        // pipe fills and codex blocks on write instead of the plugin buffering without bound.
        let lastPoll = Number.NEGATIVE_INFINITY;
        for await (const chunk of child.stdout) {
          yield* this.#forward(splitter.push(chunk as Buffer));
          // Tool calls codex has written to its rollout by now, with their real call ids. Each read
          // costs a few file operations, so while codex floods stdout (more is already buffered)
          // the rollout is read at most every ROLLOUT_POLL_MS; once codex pauses, at once.
          const now = performance.now();
          if (
            !this.#discardEvents &&
            (child.stdout.readableLength === 0 || now - lastPoll >= ROLLOUT_POLL_MS)
          ) {
            lastPoll = now;
            yield* this.#held(this.#rollout.poll());
          }
        }
      } catch (error) {
        this.#logger.warn({ err: error }, "reading codex stdout failed");
      }
      yield* this.#forward(splitter.end());
      const result = await child.result;
      // Nothing may stop (or blame) a process that is gone; the wall clock keeps running.
      this.#stopProcess = undefined;
      this.#watchdog?.settle();
      if (yield* singly(this.#threadLost(result))) return true;
      // No more codex run in this turn: a bound firing now would only mislabel its outcome.
      this.#watchdog?.stop();
      yield* singly(this.#rollout.finish(this.#completed || this.#resumed));
      yield* singly(this.#finish(result));
      return false;
    } finally {
      clearTimeout(this.#exitGraceTimer);
      this.#signal.removeEventListener("abort", onAbort);
    }
  }

  #startWatchdog(): void {
    if (this.#watchdog !== undefined) {
      this.#watchdog.restartAttempt();
      return;
    }
    const plan = this.#plan;
    this.#watchdog = new TurnWatchdog({
      turnMs: plan.turnTimeoutMs,
      idleMs: plan.idleTimeoutMs,
      firstEventMs: plan.firstEventTimeoutMs,
      onExpire: (expiry) => {
        const hint =
          expiry.bound !== "turn" && this.#lastRetryNotice !== undefined
            ? `; codex's last notice: ${this.#lastRetryNotice}`
            : "";
        this.#logger.warn({ bound: expiry.bound, limit_ms: expiry.limitMs }, "turn bound fired");
        const cause: StopCause = {
          kind: "timeout",
          code: expiry.code,
          message: expiry.message + hint,
        };
        // Between two codex runs there is no process; the next run then does not start.
        this.#stopCause ??= cause;
        this.#stopProcess?.(cause);
      },
    });
    this.#watchdog.start();
  }

  /**
   * Forwards the lines of one read: feeds the watchdog, hands the plain events over together and
   * the lines that change the turn's state (thread started, turn completed or failed) one by one.
   */
  async *#forward(lines: Iterable<SplitLine>): AsyncGenerator<EventBatch, void, undefined> {
    let ready: CanonicalEvent[] = [];
    for (const line of lines) {
      for (const output of this.#mapper.mapLine(line)) {
        if (this.#discardEvents) continue;
        const event = output.type === "event" ? output.event : undefined;
        // Codex's "Reconnecting..." loop is not progress: with the network down it never ends.
        if (event?.kind === "notice" && event.notice === "retrying") {
          this.#lastRetryNotice = event.message;
        } else {
          this.#watchdog?.progress();
        }
        if (event !== undefined) {
          ready.push(event);
          continue;
        }
        yield* this.#hold(ready);
        ready = [];
        yield* this.#held(this.#handle(output));
        yield* this.#held(this.#reportStoreFailure());
      }
    }
    yield* this.#hold(ready);
  }

  /** While the consumer holds a batch, codex is stalled by back-pressure, not idle. */
  async *#hold(batch: EventBatch): AsyncGenerator<EventBatch, void, undefined> {
    if (batch.length === 0) return;
    this.#watchdog?.pause();
    try {
      yield batch;
    } finally {
      this.#watchdog?.resume();
    }
  }

  async *#held(events: AsyncIterable<CanonicalEvent>): AsyncGenerator<EventBatch, void, undefined> {
    for await (const event of events) yield* this.#hold([event]);
  }

  async *#handle(output: MapperOutput): AsyncGenerator<CanonicalEvent, void, undefined> {
    if (output.type === "turn_completed" || output.type === "turn_failed") {
      this.#watchdog?.settle();
      // codex exits right after its terminal event; note what it leaves running while it is
      // still the parent (best effort, on top of the periodic scan).
      await this.#child?.recordDescendants();
      this.#startExitGrace();
    }
    switch (output.type) {
      case "thread_started":
        yield* this.#onThreadStarted(output.threadId);
        return;
      case "turn_completed":
        yield* this.#onTurnCompleted(output.usage);
        return;
      case "turn_failed":
        this.#failure = output.error;
        await this.#persist({ confirmed: true });
        yield { kind: "error", error: output.error };
        return;
      case "event":
        yield output.event;
        return;
    }
  }

  // A turn that has ended but whose process lingers would otherwise hold the agent until the
  // wall-clock limit.
  #startExitGrace(): void {
    if (this.#exitGraceTimer !== undefined) return;
    this.#exitGraceTimer = setTimeout(() => {
      this.#logger.warn("codex did not exit after its turn ended; stopping it");
      this.#stopProcess?.({ kind: "linger", message: "codex did not exit after the turn ended" });
    }, this.#deps.exitGraceMs ?? DEFAULT_EXIT_GRACE_MS);
    this.#exitGraceTimer.unref();
  }

  async *#onThreadStarted(threadId: string): AsyncGenerator<CanonicalEvent, void, undefined> {
    if (this.#threadAnnounced) {
      yield notice(
        "warning",
        `codex announced a second thread ${threadId}; keeping ${this.#threadId}`,
      );
      return;
    }
    this.#threadAnnounced = true;
    const requested = this.#resumeId;
    if (requested !== undefined && threadId.toLowerCase() === requested.toLowerCase()) {
      this.#threadId = requested;
      this.#resumed = true;
    } else {
      if (requested !== undefined) {
        // codex resolves unknown names to a brand-new thread and exits 0; the old context is gone.
        const fail = this.#plan.threadLostPolicy === "fail";
        const reason =
          `asked codex to resume thread ${requested} but it started a new thread ${threadId}; ` +
          "the previous conversation context is not available";
        this.#logger.warn({ thread_id: requested, new_thread_id: threadId }, "thread lost");
        yield {
          kind: "thread_lost",
          threadId: requested,
          reason,
          action: fail ? "failed" : "started_new_thread",
        };
        if (fail) {
          this.#discardEvents = true;
          await this.#forgetThread(requested);
          this.#stopProcess?.({ kind: "thread_lost", message: `thread lost: ${reason}` });
          return;
        }
      }
      this.#threadId = threadId;
      this.#baseline = emptyUsage();
      // Stored before any item is forwarded, so a crash mid-turn still leaves the id on disk.
      if (await this.#persist({ confirmed: false })) {
        yield notice("thread_stored", threadId);
      }
    }
    this.#rollout.threadStarted(this.#threadId);
    yield {
      kind: "turn_started",
      threadId: this.#threadId,
      resumed: this.#resumed,
      model: this.#plan.cliModel ?? "",
      sandbox: this.#plan.sandbox,
      codexVersion: this.#deps.binary.version,
      worktreePath: this.#setup.worktreePath,
      policy: this.#plan.policy,
    };
  }

  async *#onTurnCompleted(cumulative: Usage): AsyncGenerator<CanonicalEvent, void, undefined> {
    const delta = computeUsageDelta(cumulative, this.#baseline);
    if (delta.baselineReset) {
      this.#logger.warn(
        { cumulative, baseline: this.#baseline },
        "codex usage went below the stored baseline",
      );
      yield notice(
        "warning",
        "codex's cumulative usage is below the stored baseline; reporting the whole total for this turn",
      );
    }
    this.#completed = true;
    this.#turnUsage = delta.turn;
    this.#baseline = { ...cumulative };
    await this.#persist({ confirmed: true });
    await this.#countUsage(cumulative);
    yield { kind: "usage", turn: delta.turn, thread: { ...cumulative } };
  }

  /**
   * A failed thread-state write (read-only or full state dir) as a typed error, once per turn. The
   * turn goes on: the file is replaced atomically or not at all, so the old record is intact.
   */
  async *#reportStoreFailure(): AsyncGenerator<CanonicalEvent, void, undefined> {
    if (this.#storeFailure === undefined || this.#storeFailureReported) return;
    this.#storeFailureReported = true;
    const failure = this.#storeFailure as { message?: unknown; cause?: { message?: unknown } };
    const detail = [failure.message, failure.cause?.message]
      .filter((part) => typeof part === "string" && part !== "")
      .join(": ");
    yield {
      kind: "error",
      error: {
        class: "internal",
        code: "THREAD_STORE_FAILED",
        message:
          `could not save the state of thread ${this.#threadId} (${detail}); the stored state is ` +
          "unchanged, so the next turn may not resume this thread or may count this turn's usage again",
        retryable: false,
      },
    };
  }

  /** Adds the turn to the agent's totals (GetUsage); a failure is logged and the turn goes on. */
  async #countUsage(cumulative: Usage): Promise<void> {
    if (this.#deps.usage === undefined || this.#threadId === "") return;
    try {
      await this.#deps.usage.recordTurn(this.#plan.agentId, this.#threadId, cumulative);
    } catch (error) {
      this.#logger.error(
        { err: error, thread_id: this.#threadId },
        "could not count the turn's usage",
      );
    }
  }

  /** Writes the thread record; a failure is logged, reported once, and the turn goes on. */
  async #persist(fields: { confirmed: boolean }): Promise<boolean> {
    if (this.#threadId === "") return false;
    try {
      await this.#deps.store.save(this.#plan.agentId, {
        thread_id: this.#threadId,
        usage_baseline: this.#baseline,
        confirmed: fields.confirmed,
      });
      return true;
    } catch (error) {
      this.#logger.error(
        { err: error, thread_id: this.#threadId },
        "could not store the thread state",
      );
      this.#storeFailure ??= error;
      return false;
    }
  }

  /**
   * Codex exited 1 with "no rollout found for thread id": the stored thread is gone. Says so with
   * a thread_lost event and forgets it; returns true when the policy is to go on in a new thread.
   */
  async *#threadLost(result: ProcessResult): AsyncGenerator<CanonicalEvent, boolean, undefined> {
    const requested = this.#resumeId;
    if (requested === undefined || this.#threadAnnounced || this.#stopCause !== undefined) {
      return false;
    }
    if (result.exitCode === undefined || result.exitCode === 0) return false;
    const fatal = this.#mapper.lastFatalMessage ?? lastErrorLine(result.stderrTail);
    if (fatal === undefined || classifyCodexError(fatal).code !== "THREAD_NOT_FOUND") return false;
    const retry = this.#plan.threadLostPolicy === "new_thread" && !this.#signal.aborted;
    this.#logger.warn({ thread_id: requested, reason: fatal, retry }, "thread lost");
    yield {
      kind: "thread_lost",
      threadId: requested,
      reason: fatal,
      action: retry ? "started_new_thread" : "failed",
    };
    // Failing: #diagnose forgets the thread and reports THREAD_NOT_FOUND.
    if (!retry) return false;
    await this.#forgetThread(requested);
    this.#resumeId = undefined;
    this.#baseline = emptyUsage();
    return true;
  }

  // A new thread whose first turn never finished may have no rollout; keeping its id would make
  // every later turn fail with "no rollout found".
  async #forgetUnresumable(): Promise<void> {
    if (this.#resumed || this.#threadId === "" || this.#completed || this.#failure !== undefined) {
      return;
    }
    const codexHome = codexHomeForAgent(this.#deps.config, this.#plan.agentId, this.#deps.env);
    if ((await findRolloutFile(codexHome, this.#threadId)) !== undefined) return;
    this.#logger.info({ thread_id: this.#threadId }, "forgetting a thread codex never persisted");
    await this.#forgetThread(this.#threadId);
  }

  async *#finish(result: ProcessResult): AsyncGenerator<CanonicalEvent, void, undefined> {
    await this.#forgetUnresumable();
    yield* this.#reportStoreFailure();
    this.#logger.info(
      {
        exit_code: result.exitCode,
        signal: result.signal,
        termination: result.termination,
        duration_ms: result.durationMs,
      },
      "codex exited",
    );
    yield* this.#collectDiff();
    const common = { result, usage: this.#turnUsage };
    if (this.#completed) {
      const invalid = this.#checkStructuredOutput();
      if (invalid !== undefined) {
        yield { kind: "error", error: invalid };
        yield this.#end({ ...common, outcome: "failed", message: invalid.message, error: invalid });
        return;
      }
      yield this.#end({ ...common, outcome: "completed", message: "turn completed" });
      return;
    }
    if (this.#failure !== undefined) {
      yield this.#end({
        ...common,
        outcome: "failed",
        message: this.#failure.message,
        error: this.#failure,
      });
      return;
    }
    // exec never gives up on an unreachable provider ("Reconnecting... waiting for network"): a
    // time limit ended the turn, and the cause worth reporting is the network.
    const network =
      this.#stopCause?.kind === "timeout"
        ? classifyNetworkStall(this.#mapper.lastRetryMessage, this.#stopCause)
        : undefined;
    const stopError = network ?? stopCauseError(this.#stopCause);
    if (stopError !== undefined) {
      // The plugin's own bounds and policies fail the turn; the host did not ask for a stop.
      yield { kind: "error", error: stopError };
      yield this.#end({
        ...common,
        outcome: "failed",
        message: stopError.message,
        error: stopError,
      });
      return;
    }
    if (this.#stopCause !== undefined) {
      const cause = this.#stopCause;
      const end: EndFields = { ...common, outcome: "cancelled", message: cause.message };
      if (cause.kind === "timeout") {
        end.error = {
          class: "timeout",
          code: "PROCESS_TIMED_OUT",
          message: cause.message,
          retryable: true,
        };
      }
      yield this.#end(end);
      return;
    }
    const error = await this.#diagnose(result);
    yield { kind: "error", error: error.error };
    yield this.#end({
      ...common,
      outcome: error.outcome,
      message: error.error.message,
      error: error.error,
    });
  }

  // Explains a process that ended without turn.completed or turn.failed.
  async #diagnose(result: ProcessResult): Promise<{ outcome: TurnOutcome; error: TurnError }> {
    if (result.spawnError !== undefined) {
      return crashed(
        "PROCESS_SPAWN_FAILED",
        `could not start codex (${this.#deps.binary.path}): ${result.spawnError.message}`,
      );
    }
    const fatal = this.#mapper.lastFatalMessage ?? lastErrorLine(result.stderrTail);
    if (result.exitCode !== undefined && result.exitCode !== 0 && fatal !== undefined) {
      const error = classifyCodexError(fatal);
      if (error.code === "THREAD_NOT_FOUND" && this.#resumeId !== undefined) {
        await this.#forgetThread(this.#resumeId);
        error.message += "; the stored thread was forgotten, so the next turn starts a new thread";
      }
      return { outcome: "failed", error };
    }
    if (result.signal !== undefined) {
      return crashed(
        "PROCESS_EXITED_NONZERO",
        `codex was killed by ${result.signal}${stderrHint(result)}`,
      );
    }
    if (result.exitCode === 0) {
      return crashed(
        "PROCESS_EXITED_NONZERO",
        "codex exited 0 without reporting turn.completed or turn.failed",
      );
    }
    return crashed(
      "PROCESS_EXITED_NONZERO",
      `codex exited with code ${result.exitCode ?? "?"}${stderrHint(result)}`,
    );
  }

  async #forgetThread(threadId: string): Promise<void> {
    try {
      const current = await this.#deps.store.load(this.#plan.agentId);
      if (current.status === "ok" && current.record.thread_id === threadId) {
        await this.#deps.store.reset(this.#plan.agentId);
      }
    } catch (error) {
      this.#logger.error(
        { err: error, thread_id: threadId },
        "could not forget the missing thread",
      );
    }
  }

  /** What codex changed in the working tree since the turn's start snapshot. */
  async *#collectDiff(): AsyncGenerator<CanonicalEvent, void, undefined> {
    const outcome = await finishTurnDiff(this.#setup, this.#plan.diffMaxBytes);
    if (outcome === undefined) return;
    this.#endExtras.diff = outcome.diff;
    if (outcome.reason !== undefined) {
      this.#logger.warn({ reason: outcome.reason }, "turn diff unavailable");
      yield notice("warning", `the turn's diff is unavailable: ${outcome.reason}`);
    }
  }

  /** With an output schema: the final message checked against it; returns the error if not. */
  #checkStructuredOutput(): TurnError | undefined {
    const schema = this.#plan.outputSchema;
    if (schema === undefined) return undefined;
    const checked = checkStructuredOutput(schema, this.#mapper.finalText);
    if (checked.ok) {
      this.#endExtras.structuredOutputJson = checked.json;
      return undefined;
    }
    // The model answered, but not in the shape asked for; another attempt may well succeed.
    return {
      class: "internal",
      code: "STRUCTURED_OUTPUT_INVALID",
      message: checked.message,
      retryable: true,
    };
  }

  #end(fields: EndFields): TurnEnd {
    this.#finished = true;
    return endEvent(this.#startedAt, {
      ...this.#endExtras,
      ...fields,
      threadId: this.#threadId,
      finalText: this.#mapper.finalText,
    });
  }
}

function appErrorCause(error: unknown): string {
  const cause = isAppError(error) ? (error.cause as { message?: unknown } | undefined) : undefined;
  return typeof cause?.message === "string" ? ` (${cause.message})` : "";
}

function stopCauseError(cause: StopCause | undefined): TurnError | undefined {
  if (cause?.kind === "timeout" && cause.code !== undefined) {
    return { class: "timeout", code: cause.code, message: cause.message, retryable: true };
  }
  if (cause?.kind === "thread_lost") {
    // The lost id is forgotten, so a retry runs in a new thread.
    return { class: "internal", code: "THREAD_NOT_FOUND", message: cause.message, retryable: true };
  }
  return undefined;
}

function crashed(code: string, message: string): { outcome: TurnOutcome; error: TurnError } {
  return { outcome: "crashed", error: { class: "internal", code, message, retryable: false } };
}

function notice(kind: "warning" | "retrying" | "thread_stored", message: string): CanonicalEvent {
  return { kind: "notice", notice: kind, message };
}

// codex prints fatal errors that happen outside a turn ("Error: thread/resume: … no rollout found
// …", "Error finding codex home: …") only on stderr.
function lastErrorLine(stderr: string): string | undefined {
  const lines = stderr.split("\n").filter((line) => /^Error\b/.test(line));
  const last = lines.at(-1)?.trim();
  if (last === undefined) return undefined;
  return last.startsWith("Error: ") ? last.slice("Error: ".length) : last;
}

function stderrHint(result: ProcessResult): string {
  const last = result.stderrTail.trim().split("\n").at(-1);
  return last === undefined || last === "" ? "" : `; stderr: ${last.slice(0, 300)}`;
}
