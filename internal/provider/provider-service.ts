// plexum.provider.v1.ProviderPlugin handlers: the one place gRPC calls meet the codex backend.
import { once } from "node:events";

import type { MessageInitShape } from "@bufbuild/protobuf";
import type * as grpc from "@grpc/grpc-js";
import type { Logger } from "pino";

import {
  type ConfigureResponseSchema,
  Diagnostic_Severity,
  type GetInfoResponseSchema,
  type ListModelsResponseSchema,
  type ProviderPlugin,
  type RunTurnRequest,
  type RunTurnResponseSchema,
} from "../../src/gen/plexum/provider/v1/provider_pb.js";
import type { ServiceImplementation } from "../../src/plugin/grpc-service.js";
import type { CodexBinaryStatus } from "../codex/binary.js";
import type { CanonicalEvent } from "../codex/canonical-event.js";
import type { TurnRequest } from "../codex/turn-request.js";
import type { ResolvedConfig } from "../config/load-config.js";
import { AppError, isAppError, toGrpcStatus } from "../errors.js";
import type { ThreadStore } from "../store/thread-store.js";
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
];

export interface ProviderServiceOptions {
  logger: Logger;
  /** The plugin's own version. */
  version: string;
  /** The environment codex inherits; process.env by default. */
  env?: NodeJS.ProcessEnv;
}

type ConfigState = { config: ResolvedConfig; store: ThreadStore; configured: boolean };

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
const loadRunner = () => import("../codex/turn-runner.js");
const loadConfig = () => import("../config/load-config.js");
const loadBinary = () => import("../codex/binary.js");
const loadStore = () => import("../store/thread-store.js");
const loadPlan = () => import("../codex/turn-plan.js");

/** The provider service: holds the config, the codex status and the running turns. */
export class ProviderService {
  readonly #logger: Logger;
  readonly #version: string;
  readonly #env: NodeJS.ProcessEnv;
  readonly #turns = new AgentTurns();
  #state: Promise<ConfigState> | undefined;
  #binary: Promise<CodexBinaryStatus> | undefined;
  #shuttingDown = false;

  constructor(options: ProviderServiceOptions) {
    this.#logger = options.logger;
    this.#version = options.version;
    this.#env = options.env ?? process.env;
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

  // Lazily applies the default config, so turns work before Configure as well.
  #currentState(): Promise<ConfigState> {
    this.#state ??= this.#buildState({}, false);
    return this.#state;
  }

  async #buildState(json: unknown, configured: boolean): Promise<ConfigState> {
    const [{ parseConfig }, { ThreadStore }] = await Promise.all([loadConfig(), loadStore()]);
    const { config } = parseConfig(json, { env: this.#env });
    return { config, store: new ThreadStore(config.stateDir), configured };
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
    const [{ parseConfig }, { ThreadStore }] = await Promise.all([loadConfig(), loadStore()]);
    const { config, warnings } = parseConfig(json, { env: this.#env });
    const state: ConfigState = {
      config,
      store: new ThreadStore(config.stateDir),
      configured: true,
    };
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
      this.#watchCall(call, request.agentId);
      await this.#streamTurn(call, request, turn.signal);
    } catch (error) {
      const status = serviceError(error);
      this.#logger.warn({ code: status.code, error: status.details }, "turn rejected");
      call.emit("error", status);
    } finally {
      finish?.();
    }
  }

  // Later messages on the stream may cancel; the host cancelling the stream cancels as well.
  #watchCall(call: TurnCall, agentId: string): void {
    const cancel = (reason: CancelReason) => this.#turns.cancel(agentId, reason);
    call.on("data", (message: RunTurnRequest) => {
      if (message.request.case === "cancel") {
        cancel({
          kind: "cancelled",
          message: message.request.value.reason || "cancelled by the host (RunTurn cancel)",
        });
      }
    });
    call.on("cancelled", () => {
      cancel({ kind: "host_cancelled", message: "the host cancelled the RunTurn stream" });
    });
  }

  async #streamTurn(call: TurnCall, request: TurnRequest, signal: AbortSignal): Promise<void> {
    const [state, { runTurn }] = await Promise.all([this.#currentState(), loadRunner()]);
    const binary = await this.#binaryStatus(state.config);
    const log = this.#logger.child({ agent_id: request.agentId });
    log.info({ model: request.model, prompt_chars: request.prompt.length }, "turn started");
    let seq = 0;
    let end: Extract<CanonicalEvent, { kind: "turn_end" }> | undefined;
    const events = runTurn(
      request,
      { config: state.config, logger: log, binary, store: state.store, env: this.#env },
      signal,
    );
    for await (const event of events) {
      if (event.kind === "turn_end") end = event;
      seq += 1;
      // A cancelled call can no longer be written; the turn is stopping through `signal`.
      if (call.cancelled) continue;
      await writeWithBackpressure(call, { event: eventToProto(event, seq) });
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

/** Writes one message and waits for the transport to drain, so a slow host slows codex down. */
async function writeWithBackpressure(
  call: TurnCall,
  message: MessageInitShape<typeof RunTurnResponseSchema>,
): Promise<void> {
  if (call.write(message)) return;
  const abort = new AbortController();
  try {
    await Promise.race([
      once(call, "drain", { signal: abort.signal }),
      once(call, "cancelled", { signal: abort.signal }),
      once(call, "close", { signal: abort.signal }),
    ]);
  } finally {
    abort.abort();
  }
}
