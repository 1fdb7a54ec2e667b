// plexum.provider.v1.ProviderPlugin handlers: the one place gRPC calls meet the codex backend.
import { performance } from "node:perf_hooks";

import type { MessageInitShape } from "@bufbuild/protobuf";
import type * as grpc from "@grpc/grpc-js";
import type { Logger } from "pino";

import {
  type ConfigureResponseSchema,
  type ConsumeResponseSchema,
  Diagnostic_Severity,
  type GetInfoResponseSchema,
  type GetUsageResponseSchema,
  type HostToolResult,
  type ListModelsResponseSchema,
  type ProviderPlugin,
  type RunTurnRequest,
  type RunTurnResponseSchema,
} from "../../src/gen/plexum/provider/v1/provider_pb.js";
import type { ServiceImplementation } from "../../src/plugin/grpc-service.js";
import { type Clock, systemClock } from "../core/clock.js";
import type { CodexBinaryStatus } from "../codex/binary.js";
import type { CanonicalEvent, EventBatch, TurnError, Usage } from "../core/canonical-event.js";
import type { TurnRequest } from "../turn/turn-request.js";
import type { ResolvedConfig } from "../config/load-config.js";
import { AppError, isAppError, toGrpcStatus } from "../core/app-error.js";
import type { TurnHostTools } from "../mcp/turn-host-tools.js";
import type { ProcessLedger } from "../proc/process-ledger.js";
import type { ThreadStore } from "../store/thread-store.js";
import type { UsageStore } from "../store/usage-store.js";
import { AgentTurns, type CancelReason } from "./agent-turns.js";
import { turnRequestFromProto } from "./from-proto.js";
import { eventToProto } from "./to-proto.js";

/** The plexum.provider protocol major version. */
export const PROVIDER_PROTOCOL_VERSION = 1;
export const PLUGIN_NAME = "plexum-openai-provider";

const CAPABILITIES = [
  "run_turn",
  "cancel_turn",
  "reset_thread",
  "thread_resume",
  "per_turn_usage",
  "typed_errors",
  "tool_call_ids",
  "consume",
  "host_tools",
  "get_usage",
  "auth_status",
  "endpoint_override",
  // Turn options (README "Turn options").
  "sandbox_policy",
  "images",
  "output_schema",
  "reasoning_effort",
  "turn_diff",
  "worktree",
];

export interface ProviderServiceOptions {
  logger: Logger;
  /** The plugin's own version. */
  version: string;
  /** The environment codex inherits; process.env by default. */
  env?: NodeJS.ProcessEnv;
  /** The plugin executable's absolute path, which codex runs as `<path> mcp-host` for host tools. */
  selfCommand?: string | undefined;
  /** The wall clock; the machine's by default. */
  clock?: Clock;
}

type ConfigState = {
  config: ResolvedConfig;
  store: ThreadStore;
  configured: boolean;
  /** Records codex processes in the state dir for the boot reaper. */
  ledger: ProcessLedger;
};

/** What a RunTurn call's turn has open while it runs. */
type TurnTools = { hostTools?: TurnHostTools | undefined };

type TurnCall = grpc.ServerDuplexStream<
  RunTurnRequest,
  MessageInitShape<typeof RunTurnResponseSchema>
>;

/** A gRPC error carrying a status code and a message that names what went wrong. */
function serviceError(error: unknown): Partial<grpc.ServiceError> {
  const app = isAppError(error) ? error : AppError.from(error);
  return { code: toGrpcStatus(app.code), details: `${app.code}: ${app.message}` };
}

// The codex runner, config parsing and process handling are loaded on first use, so the handshake
// does not wait for them.
const loadRunner = () => import("../turn/turn-run.js");
const loadConfig = () => import("../config/load-config.js");
const loadBinary = () => import("../codex/binary.js");
const loadStore = () => import("../store/thread-store.js");
const loadPlan = () => import("../turn/turn-plan.js");
const loadLedger = () => import("../proc/process-ledger.js");
const loadConsume = () => import("../rollout/consume-service.js");
const loadHostTools = () => import("../mcp/turn-host-tools.js");
const loadUsage = () => import("../store/usage-store.js");
const loadAuth = () => import("../codex/auth-status.js");

/** The provider service: holds the config, the codex status and the running turns. */
export class ProviderService {
  readonly #logger: Logger;
  readonly #version: string;
  readonly #env: NodeJS.ProcessEnv;
  readonly #turns = new AgentTurns();
  readonly #selfCommand: string | undefined;
  readonly #clock: Clock;
  #state: Promise<ConfigState> | undefined;
  #binary: Promise<CodexBinaryStatus> | undefined;
  #shuttingDown = false;
  /** Start-up recovery per state dir: once per plugin process, awaited before any turn there. */
  readonly #recovered = new Map<string, Promise<void>>();
  /** Usage totals per state dir (usage.json next to each agent's thread.json). */
  readonly #usageStores = new Map<string, UsageStore>();

  constructor(options: ProviderServiceOptions) {
    this.#logger = options.logger;
    this.#version = options.version;
    this.#env = options.env ?? process.env;
    this.#selfCommand = options.selfCommand;
    this.#clock = options.clock ?? systemClock;
  }

  /** The typed grpc-js handlers. */
  implementation(): ServiceImplementation<typeof ProviderPlugin> {
    return {
      getInfo: (_call, callback) => {
        this.#getInfo().then(
          (info) => callback(null, info),
          (error) => callback(serviceError(error)),
        );
      },
      configure: (call, callback) => {
        this.#configure(call.request.configJson).then(
          (response) => callback(null, response),
          (error) => callback(serviceError(error)),
        );
      },
      listModels: (_call, callback) => {
        this.#listModels().then(
          (response) => callback(null, response),
          (error) => callback(serviceError(error)),
        );
      },
      runTurn: (call) => {
        void this.#runTurn(call);
      },
      cancelTurn: (call, callback) => {
        const cancelled = this.#turns.cancel(call.request.agentId, {
          kind: "cancelled",
          message: call.request.reason || "cancelled by the host (CancelTurn)",
        });
        this.#logger.info({ agent_id: call.request.agentId, cancelled }, "cancel requested");
        callback(null, { cancelled });
      },
      resetThread: (call, callback) => {
        this.#resetThread(call.request.agentId).then(
          (previousThreadId) => callback(null, { previousThreadId: previousThreadId ?? "" }),
          (error) => callback(serviceError(error)),
        );
      },
      getUsage: (call, callback) => {
        this.#getUsage(call.request.agentId).then(
          (response) => callback(null, response),
          (error) => callback(serviceError(error)),
        );
      },
      consume: (call, callback) => {
        this.#consume(call.request.agentId, call.request.blockIds).then(
          (response) => callback(null, response),
          (error) => callback(serviceError(error)),
        );
      },
    };
  }

  /** Cancels every running turn and kills every codex process group, within the host's 2 s. */
  async shutdown(reason: string): Promise<void> {
    this.#shuttingDown = true;
    const running = this.#turns.size;
    this.#logger.info({ reason, running_turns: running }, "shutting down");
    const { killAllProcessGroups } = await import("../proc/process-registry.js");
    await Promise.all([
      this.#turns.cancelAll(
        { kind: "shutdown", message: `plugin shutting down (${reason})` },
        1000,
      ),
      killAllProcessGroups(),
    ]);
  }

  /**
   * Call once the plugin serves: recovers the default state dir (kills codex processes a crashed
   * earlier instance left, removes stale temp files) without waiting for the first call.
   */
  warmUp(): void {
    this.#currentState().catch((error: unknown) => {
      this.#logger.warn({ err: error }, "could not prepare the default state dir");
    });
  }

  // Lazily applies the default config, so turns work before Configure as well.
  #currentState(): Promise<ConfigState> {
    this.#state ??= this.#buildState({}, false);
    return this.#state;
  }

  async #buildState(json: unknown, configured: boolean): Promise<ConfigState> {
    const [{ parseConfig }, { ThreadStore }, { ProcessLedger }] = await Promise.all([
      loadConfig(),
      loadStore(),
      loadLedger(),
    ]);
    const { config } = parseConfig(json, { env: this.#env });
    const state: ConfigState = {
      config,
      store: new ThreadStore(config.stateDir),
      configured,
      ledger: new ProcessLedger(config.stateDir, { logger: this.#logger }),
    };
    await this.#recover(state);
    return state;
  }

  // Kills what an earlier plugin instance left running in this state dir and removes the temp
  // files of thread writes it was killed in the middle of. Never throws.
  #recover(state: ConfigState): Promise<void> {
    const { stateDir } = state.config;
    let recovery = this.#recovered.get(stateDir);
    if (recovery === undefined) {
      recovery = (async () => {
        const { reapLeftovers } = await loadLedger();
        const [reaped, temps] = await Promise.all([
          reapLeftovers(stateDir, { logger: this.#logger }),
          state.store.cleanStaleTemps(),
        ]);
        this.#logger.info(
          {
            state_dir: stateDir,
            process_records: reaped.records,
            killed: reaped.killed.length,
            survivors: reaped.survivors.length,
            stale_temp_files: temps,
          },
          "state dir recovered",
        );
      })().catch((error: unknown) => {
        this.#logger.warn({ err: error, state_dir: stateDir }, "state dir recovery failed");
      });
      this.#recovered.set(stateDir, recovery);
    }
    return recovery;
  }

  #binaryStatus(config: ResolvedConfig): Promise<CodexBinaryStatus> {
    this.#binary ??= loadBinary().then(({ resolveCodexBinary }) =>
      resolveCodexBinary({
        binary: config.binary,
        versionProbeMs: config.timeouts.versionProbeMs,
        env: this.#env,
      }),
    );
    return this.#binary;
  }

  async #getInfo(): Promise<MessageInitShape<typeof GetInfoResponseSchema>> {
    const state = await this.#currentState();
    const binary = await this.#binaryStatus(state.config);
    return {
      name: PLUGIN_NAME,
      version: this.#version,
      protocolVersion: PROVIDER_PROTOCOL_VERSION,
      capabilities: CAPABILITIES,
      codex: codexStatusInit(binary),
      configured: state.configured,
      auth: await this.#authStatus(state.config),
    };
  }

  // Never fails GetInfo: an unreadable auth.json is itself a status.
  async #authStatus(
    config: ResolvedConfig,
  ): Promise<{ mode: string; ready: boolean; detail: string }> {
    try {
      const { detectAuth } = await loadAuth();
      return await detectAuth(config, this.#env);
    } catch (error) {
      return {
        mode: "none",
        ready: false,
        detail: `could not check credentials: ${String(error)}`,
      };
    }
  }

  async #usageStore(config: ResolvedConfig): Promise<UsageStore> {
    let store = this.#usageStores.get(config.stateDir);
    if (store === undefined) {
      const { UsageStore } = await loadUsage();
      store = new UsageStore(config.stateDir);
      this.#usageStores.set(config.stateDir, store);
    }
    return store;
  }

  async #getUsage(agentId: string): Promise<MessageInitShape<typeof GetUsageResponseSchema>> {
    const { validateAgentId } = await import("../store/agent-id.js");
    validateAgentId(agentId);
    const state = await this.#currentState();
    const [totals, thread] = await Promise.all([
      (await this.#usageStore(state.config)).load(agentId),
      state.store.load(agentId),
    ]);
    return {
      total: usageInit(totals.total),
      turns: BigInt(totals.turns),
      threadId: thread.status === "ok" ? thread.record.thread_id : "",
      ...(thread.status === "ok" ? { thread: usageInit(thread.record.usage_baseline) } : {}),
    };
  }

  async #configure(
    configJson: Uint8Array,
  ): Promise<MessageInitShape<typeof ConfigureResponseSchema>> {
    let json: unknown;
    const text = Buffer.from(configJson).toString("utf8");
    try {
      json = text.trim() === "" ? {} : JSON.parse(text);
    } catch (error) {
      throw new AppError(
        "CONFIG_INVALID",
        `config_json is not valid JSON: ${(error as Error).message}`,
        {
          cause: error,
          fields: ["config_json"],
        },
      );
    }
    const [{ parseConfig }, { ThreadStore }, { ProcessLedger }] = await Promise.all([
      loadConfig(),
      loadStore(),
      loadLedger(),
    ]);
    const { config, warnings } = parseConfig(json, { env: this.#env });
    const state: ConfigState = {
      config,
      store: new ThreadStore(config.stateDir),
      configured: true,
      ledger: new ProcessLedger(config.stateDir, { logger: this.#logger }),
    };
    await this.#recover(state);
    this.#state = Promise.resolve(state);
    this.#binary = undefined;
    const binary = await this.#binaryStatus(config);
    const diagnostics = warnings.map((warning) => ({
      severity: Diagnostic_Severity.WARNING,
      summary: warning.message,
      field: warning.field,
    }));
    if (!binary.ready) {
      diagnostics.push({
        severity: Diagnostic_Severity.WARNING,
        summary: `codex is not ready: ${binary.degradedReason}`,
        field: "binary",
      });
    }
    const auth = await this.#authStatus(config);
    if (!auth.ready) {
      diagnostics.push({
        severity: Diagnostic_Severity.WARNING,
        summary: `credentials (${auth.mode}) are not ready: ${auth.detail}`,
        field: config.endpoint === undefined ? "openai" : "endpoint",
      });
    }
    this.#logger.info(
      {
        state_dir: config.stateDir,
        codex_path: binary.path,
        codex_version: binary.version,
        codex_ready: binary.ready,
        warnings: warnings.length,
      },
      "configured",
    );
    return { diagnostics, codex: codexStatusInit(binary) };
  }

  async #listModels(): Promise<MessageInitShape<typeof ListModelsResponseSchema>> {
    const [{ config }, { cliModelFor }] = await Promise.all([this.#currentState(), loadPlan()]);
    return {
      models: config.supportedModels.map((id, index) => ({
        id,
        cliModel: cliModelFor(config, id) ?? "",
        default: index === 0,
      })),
    };
  }

  async #resetThread(agentId: string): Promise<string | undefined> {
    const { validateAgentId } = await import("../store/agent-id.js");
    validateAgentId(agentId);
    if (this.#turns.isRunning(agentId)) {
      throw new AppError(
        "AGENT_BUSY",
        `agent ${JSON.stringify(agentId)} has a turn running; cancel it before resetting its thread`,
      );
    }
    const { store } = await this.#currentState();
    const previous = await store.reset(agentId);
    this.#logger.info({ agent_id: agentId, previous_thread_id: previous }, "thread reset");
    return previous;
  }

  // Refused (ABORTED) rather than queued while a turn runs: the host decides when to retry, and a
  // turn never waits behind a consume it did not ask for. A turn that starts during a consume
  // waits for it (see consumeBlocks).
  async #consume(
    agentId: string,
    blockIds: readonly string[],
  ): Promise<MessageInitShape<typeof ConsumeResponseSchema>> {
    const { validateAgentId } = await import("../store/agent-id.js");
    validateAgentId(agentId);
    const [state, { consumeBlocks, consumeBusyError }, { codexHomeForAgent }] = await Promise.all([
      this.#currentState(),
      loadConsume(),
      import("../codex/agent-codex-home.js"),
    ]);
    if (this.#turns.isRunning(agentId)) throw consumeBusyError(agentId);
    return consumeBlocks(agentId, blockIds, {
      store: state.store,
      // The CODEX_HOME the agent's codex runs with (its own one with per_agent_codex_home).
      codexHome: codexHomeForAgent(state.config, agentId, this.#env),
      logger: this.#logger,
      clock: this.#clock,
    });
  }

  async #runTurn(call: TurnCall): Promise<void> {
    let finish: (() => void) | undefined;
    try {
      const first = await firstRequest(call);
      if (first?.request.case !== "start") {
        throw new AppError(
          "REQUEST_INVALID",
          "the first RunTurn message must carry `start` (agent, model, conversation, options)",
          { fields: ["start"] },
        );
      }
      if (this.#shuttingDown) throw new AppError("INTERNAL", "the plugin is shutting down");
      const request = turnRequestFromProto(first.request.value);
      const { validateAgentId } = await import("../store/agent-id.js");
      validateAgentId(request.agentId);
      const turn = this.#turns.begin(request.agentId);
      finish = turn.finish;
      const tools: TurnTools = {};
      this.#watchCall(call, request.agentId, turn.cancel, tools);
      await this.#streamTurn(call, request, turn.signal, tools, first.request.value.batchEvents);
    } catch (error) {
      const status = serviceError(error);
      this.#logger.warn({ code: status.code, error: status.details }, "turn rejected");
      call.emit("error", status);
    } finally {
      finish?.();
    }
  }

  // Later messages on the stream may cancel or answer host tool calls; the host cancelling the
  // stream cancels as well.
  // Bound to this call's turn, not to the agent: a late 'cancelled' or tool_result from a stream
  // whose turn is over (the host closing it after turn_end) must not reach the agent's next turn.
  #watchCall(
    call: TurnCall,
    agentId: string,
    cancel: (reason: CancelReason) => void,
    tools: TurnTools,
  ): void {
    call.on("data", (message: RunTurnRequest) => {
      if (message.request.case === "cancel") {
        cancel({
          kind: "cancelled",
          message: message.request.value.reason || "cancelled by the host (RunTurn cancel)",
        });
      } else if (message.request.case === "toolResult") {
        this.#answerHostTool(tools.hostTools, agentId, message.request.value);
      }
    });
    call.on("cancelled", () => {
      cancel({ kind: "host_cancelled", message: "the host cancelled the RunTurn stream" });
    });
    // firstRequest paused the stream, so a cancel sent right behind `start` waited for the
    // listener above instead of being dropped; a stream cancelled meanwhile fired no event.
    call.resume();
    if (call.cancelled) {
      cancel({ kind: "host_cancelled", message: "the host cancelled the RunTurn stream" });
    }
  }

  async #streamTurn(
    call: TurnCall,
    request: TurnRequest,
    signal: AbortSignal,
    tools: TurnTools,
    batchEvents: boolean,
  ): Promise<void> {
    const [state, { runTurnBatches }] = await Promise.all([this.#currentState(), loadRunner()]);
    const binary = await this.#binaryStatus(state.config);
    const log = this.#logger.child({ agent_id: request.agentId });
    log.info({ model: request.model, prompt_chars: request.prompt.length }, "turn started");
    const startedAt = performance.now();
    let seq = 0;
    let end: TurnEndEvent | undefined;
    const hostTools = await this.#openHostTools(request, state.config, signal, log);
    tools.hostTools = hostTools;
    try {
      const events = runTurnBatches(
        request,
        {
          config: state.config,
          logger: log,
          binary,
          store: state.store,
          env: this.#env,
          ledger: state.ledger,
          usage: await this.#usageStore(state.config),
          checkAuth: true,
          clock: this.#clock,
          ...(hostTools === undefined ? {} : { mcpServers: [hostTools.registration] }),
        },
        signal,
      );
      const send = async (batch: EventBatch): Promise<void> => {
        const last = batch.at(-1);
        if (last?.kind === "turn_end") end = last;
        // A cancelled call can no longer be written; the turn is stopping through `signal`.
        if (call.cancelled) {
          seq += batch.length;
          return;
        }
        let full: boolean;
        if (batchEvents) {
          full = !call.write({ events: batch.map((event) => eventToProto(event, (seq += 1))) });
        } else {
          full = false;
          for (const event of batch) {
            full = !call.write({ event: eventToProto(event, (seq += 1)) }) || full;
          }
        }
        // The transport is full: a slow host slows codex down.
        if (full) await drained(call);
      };
      try {
        for await (const batch of hostTools?.interleave(events) ?? events) await send(batch);
      } catch (error) {
        // The runner ends every turn itself; this keeps the one-turn_end promise even if it throws.
        if (end !== undefined) throw error;
        log.error({ err: error }, "the turn failed inside the plugin");
        await send([crashedTurnEnd(error, performance.now() - startedAt)]);
      }
    } finally {
      if (hostTools !== undefined) {
        tools.hostTools = undefined;
        await hostTools.close("the turn ended");
      }
    }
    log.info(
      {
        outcome: end?.outcome,
        thread_id: end?.threadId,
        duration_ms: end?.durationMs,
        exit_code: end?.exitCode,
        error_code: end?.error?.code,
      },
      "turn ended",
    );
    if (!call.cancelled) call.end();
  }

  // Listens on the agent's host-tool socket for this turn, when the turn offers host tools.
  async #openHostTools(
    request: TurnRequest,
    config: ResolvedConfig,
    signal: AbortSignal,
    log: Logger,
  ): Promise<TurnHostTools | undefined> {
    if (request.hostTools === undefined || request.hostTools.length === 0) return undefined;
    const { TurnHostTools } = await loadHostTools();
    const hostTools = await TurnHostTools.open({
      agentId: request.agentId,
      tools: request.hostTools,
      stateDir: config.stateDir,
      mcpHost: config.mcpHost,
      selfCommand: this.#selfCommand,
      signal,
      logger: log,
      env: this.#env,
    });
    log.info(
      { tools: request.hostTools.map((tool) => tool.name), server: hostTools.registration.name },
      "host tools registered",
    );
    return hostTools;
  }

  #answerHostTool(
    hostTools: TurnHostTools | undefined,
    agentId: string,
    result: HostToolResult,
  ): void {
    if (hostTools === undefined) {
      this.#logger.warn(
        { agent_id: agentId, request_id: result.requestId },
        "tool_result on a turn without host tools",
      );
      return;
    }
    hostTools.answer(result.requestId, {
      text: result.text,
      isError: result.isError,
      contentJson: result.contentJson,
    });
  }
}

function usageInit(usage: Usage) {
  return {
    inputTokens: BigInt(usage.input_tokens),
    cachedInputTokens: BigInt(usage.cached_input_tokens),
    cacheWriteInputTokens: BigInt(usage.cache_write_input_tokens),
    outputTokens: BigInt(usage.output_tokens),
    reasoningOutputTokens: BigInt(usage.reasoning_output_tokens),
  };
}

function codexStatusInit(binary: CodexBinaryStatus) {
  return {
    ready: binary.ready,
    binaryPath: binary.path ?? "",
    version: binary.version ?? "",
    degradedReason: binary.degradedReason ?? "",
    source: binary.source,
  };
}

type TurnEndEvent = Extract<CanonicalEvent, { kind: "turn_end" }>;

// The terminal event for a turn whose runner failed unexpectedly.
function crashedTurnEnd(error: unknown, durationMs: number): TurnEndEvent {
  const turnError: TurnError = {
    class: "internal",
    code: "INTERNAL",
    message: `plugin error during the turn: ${error instanceof Error ? error.message : String(error)}`,
    retryable: false,
  };
  return {
    kind: "turn_end",
    outcome: "crashed",
    message: turnError.message,
    threadId: "",
    finalText: "",
    stderrTail: "",
    error: turnError,
    durationMs,
  };
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
      // Held until #watchCall listens: with no 'data' listener a flowing stream drops messages.
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
