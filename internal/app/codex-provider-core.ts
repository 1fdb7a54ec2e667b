// The plugin's state for the codex backend: the config in force (the default one until the host
// calls Configure), its stores and codex status, and the turn engine built for it. What outlives a
// Configure (the agent slots, the live processes, the /proc scanner) is created here once.
import type { Logger } from "pino";

import { AppServerBackend } from "../app-server/app-server-backend.js";
import { AppServerCompactor } from "../app-server/app-server-compactor.js";
import { AppServerPool } from "../app-server/app-server-pool.js";
import { type AuthStatus, detectAuth } from "../codex/auth-status.js";
import { type CodexBinaryStatus, resolveCodexBinary } from "../codex/binary.js";
import { codexCapabilityNames, codexVersionDiagnostics } from "../codex/codex-capabilities.js";
import { CodexVersionProbes } from "../codex/version-probe.js";
import { parseConfig, type ResolvedConfig } from "../config/load-config.js";
import type { Clock } from "../core/clock.js";
import { ExecBackend } from "../exec/exec-backend.js";
import { ProcessLedger } from "../proc/process-ledger.js";
import { ProcessRegistry } from "../proc/process-registry.js";
import { ProcessScanner } from "../proc/process-scanner.js";
import { ThreadStore } from "../store/thread-store.js";
import { UsageStore } from "../store/usage-store.js";
import { AgentSlots } from "../turn/agent-slots.js";
import type { CodexBackend } from "../turn/codex-backend.js";
import { type Engine, TurnEngine } from "../turn/turn-engine.js";
import { cliModelFor } from "../turn/turn-plan.js";
import type {
  ConfigureOutcome,
  Diagnostic,
  ModelEntry,
  PluginInfo,
  ProviderCore,
} from "./provider-core.js";
import { StateRecovery } from "./state-recovery.js";

/** What the plugin can do (GetInfo.capabilities). */
export const CAPABILITIES = [
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
  "compact_thread",
  // GetUsage.rate_limits and TurnEnd.context_window, from the rollout's token counts.
  "rate_limits",
  "context_window",
  "compact_thread",
  "auth_status",
  "endpoint_override",
  // Turn options (README "Turn options").
  "sandbox_policy",
  "images",
  "output_schema",
  "reasoning_effort",
  "turn_diff",
  "worktree",
] as const;

/**
 * What the configured backend adds (README "Backends"): its name, and the streamed deltas only
 * app-server has.
 */
export function backendCapabilities(backend: "exec" | "app-server"): string[] {
  return backend === "app-server" ? ["backend.app-server", "text_deltas"] : ["backend.exec"];
}

/** The parts an engine is built from, for one config. */
export interface EngineParts {
  config: ResolvedConfig;
  logger: Logger;
  binary: () => Promise<CodexBinaryStatus>;
  slots: AgentSlots;
  store: ThreadStore;
  usage: UsageStore;
  clock: Clock;
  env: NodeJS.ProcessEnv;
  processes: ProcessRegistry;
  scanner: ProcessScanner;
  /** Records codex processes in the state dir for the boot reaper. */
  ledger: ProcessLedger;
  selfCommand: string | undefined;
  /** The warm codex app-servers (backend "app-server"); outlive a Configure. */
  appServers: AppServerPool;
}

export interface CodexProviderCoreOptions {
  logger: Logger;
  /** The environment codex inherits. */
  env: NodeJS.ProcessEnv;
  /** The plugin executable, which codex runs as `<path> mcp-host` for host tools. */
  selfCommand: string | undefined;
  clock: Clock;
  /** Builds the engine of one config; codex exec by default. Tests give a fake. */
  createEngine?: (parts: EngineParts) => Engine;
}

interface CoreState {
  config: ResolvedConfig;
  configured: boolean;
  binary: () => Promise<CodexBinaryStatus>;
  engine: Engine;
}

/** The engine of the configured backend: codex exec (default) or codex app-server. */
export function createExecEngine(parts: EngineParts): Engine {
  const { config } = parts;
  const backend: CodexBackend =
    config.backend === "app-server"
      ? new AppServerBackend({
          pool: parts.appServers,
          env: parts.env,
          interruptGraceMs: config.timeouts.interruptGraceMs,
          terminateGraceMs: config.timeouts.terminateGraceMs,
          idleMs: config.timeouts.appServerIdleMs,
          ledger: parts.ledger,
        })
      : new ExecBackend({
          env: parts.env,
          extraArgs: config.extraArgs,
          interruptGraceMs: config.timeouts.interruptGraceMs,
          terminateGraceMs: config.timeouts.terminateGraceMs,
          processes: parts.processes,
          scanner: parts.scanner,
          ledger: parts.ledger,
        });
  return new TurnEngine({
    ...parts,
    checkAuth: true,
    backend,
    // Whatever the backend now, servers of an earlier config may still hold threads.
    warmThreads: parts.appServers,
    // CompactThread: a short-lived app-server on the thread, between exec turns.
    compactor: new AppServerCompactor({
      env: parts.env,
      interruptGraceMs: config.timeouts.interruptGraceMs,
      terminateGraceMs: config.timeouts.terminateGraceMs,
      processes: parts.processes,
      scanner: parts.scanner,
      ledger: parts.ledger,
      timeoutMs: config.timeouts.turnMs,
      clientInfo: APP_SERVER_CLIENT_INFO,
    }),
  });
}

/** How the plugin names itself to codex app-server (`initialize.clientInfo`). */
const APP_SERVER_CLIENT_INFO = { name: "plexum_openai_provider", version: "1" };

/** The plugin's state behind its handlers. */
export class CodexProviderCore implements ProviderCore {
  readonly #options: CodexProviderCoreOptions;
  readonly #slots = new AgentSlots();
  readonly #processes = new ProcessRegistry();
  readonly #scanner = new ProcessScanner();
  readonly #appServers: AppServerPool;
  /** `codex --version` once per binary build, across configs. */
  readonly #probes = new CodexVersionProbes(this.#processes);
  readonly #recovery: StateRecovery;
  /** Usage totals per state dir (usage.json next to each agent's thread.json). */
  readonly #usageStores = new Map<string, UsageStore>();
  #state: Promise<CoreState> | undefined;

  constructor(options: CodexProviderCoreOptions) {
    this.#options = options;
    this.#recovery = new StateRecovery(options.logger);
    this.#appServers = new AppServerPool({
      processes: this.#processes,
      scanner: this.#scanner,
      // The server's own stop; turns have their interrupt graces from the config.
      interruptGraceMs: 1000,
      terminateGraceMs: 1000,
      logger: options.logger,
      clientInfo: APP_SERVER_CLIENT_INFO,
    });
  }

  /**
   * Call once the plugin serves: recovers the default state dir (kills codex processes a crashed
   * earlier instance left, removes stale temp files) without waiting for the first call.
   */
  warmUp(): void {
    this.#current().catch((error: unknown) => {
      this.#options.logger.warn({ err: error }, "could not prepare the default state dir");
    });
  }

  async info(): Promise<PluginInfo> {
    const state = await this.#current();
    const codex = await state.binary();
    return {
      // The codex.<feature> capabilities of a codex that can run.
      capabilities: [
        ...CAPABILITIES,
        ...backendCapabilities(state.config.backend),
        ...(codex.ready ? codexCapabilityNames(codex.features) : []),
      ],
      codex,
      configured: state.configured,
      auth: await this.#auth(state.config),
    };
  }

  async configure(json: unknown): Promise<ConfigureOutcome> {
    const { logger } = this.#options;
    const { config, warnings } = parseConfig(json, { env: this.#options.env });
    const state = await this.#build(config, true);
    this.#state = Promise.resolve(state);
    const binary = await state.binary();
    const diagnostics: Diagnostic[] = warnings.map((warning) => ({
      severity: "warning",
      summary: warning.message,
      detail: "",
      field: warning.field,
    }));
    if (!binary.ready) {
      diagnostics.push({
        severity: "warning",
        summary: `codex is not ready: ${binary.degradedReason}`,
        detail: "",
        field: "binary",
      });
    } else {
      // An untested (newer) release, and features an older one lacks: used, with a warning.
      for (const diagnostic of codexVersionDiagnostics(binary.version, config.backend)) {
        diagnostics.push({ severity: "warning", ...diagnostic });
      }
    }
    const auth = await this.#auth(config);
    if (!auth.ready) {
      diagnostics.push({
        severity: "warning",
        summary: `credentials (${auth.mode}) are not ready: ${auth.detail}`,
        detail: "",
        field: config.endpoint === undefined ? "openai" : "endpoint",
      });
    }
    logger.info(
      {
        state_dir: config.stateDir,
        codex_path: binary.path,
        codex_version: binary.version,
        codex_ready: binary.ready,
        warnings: warnings.length,
      },
      "configured",
    );
    return { diagnostics, codex: binary };
  }

  async models(): Promise<ModelEntry[]> {
    const { config } = await this.#current();
    return config.supportedModels.map((id, index) => ({
      id,
      cliModel: cliModelFor(config, id) ?? "",
      default: index === 0,
    }));
  }

  async engine(): Promise<Engine> {
    return (await this.#current()).engine;
  }

  async shutdown(reason: string): Promise<void> {
    const running = this.#slots.running;
    this.#options.logger.info({ reason, running_turns: running }, "shutting down");
    await Promise.all([
      this.#slots.close({ kind: "shutdown", message: `plugin shutting down (${reason})` }, 1000),
      this.#appServers.shutdown(`plugin shutting down (${reason})`),
      this.#processes.killAll(),
    ]);
  }

  // Lazily applies the default config, so turns work before Configure as well.
  #current(): Promise<CoreState> {
    this.#state ??= Promise.resolve().then(() => {
      const { config } = parseConfig({}, { env: this.#options.env });
      return this.#build(config, false);
    });
    return this.#state;
  }

  // The one state builder: stores, codex status and engine of one config, after recovery.
  async #build(config: ResolvedConfig, configured: boolean): Promise<CoreState> {
    const { logger, env, clock, selfCommand } = this.#options;
    const store = new ThreadStore(config.stateDir);
    await this.#recovery.recover(config.stateDir, store);
    let probe: Promise<CodexBinaryStatus> | undefined;
    const binary = (): Promise<CodexBinaryStatus> => {
      probe ??= resolveCodexBinary({
        binary: config.binary,
        versionProbeMs: config.timeouts.versionProbeMs,
        env,
        probes: this.#probes,
      });
      return probe;
    };
    const createEngine = this.#options.createEngine ?? createExecEngine;
    const engine = createEngine({
      config,
      logger,
      binary,
      slots: this.#slots,
      store,
      usage: this.#usageStore(config.stateDir),
      clock,
      env,
      processes: this.#processes,
      appServers: this.#appServers,
      scanner: this.#scanner,
      ledger: new ProcessLedger(config.stateDir, { logger }),
      selfCommand,
    });
    return { config, configured, binary, engine };
  }

  #usageStore(stateDir: string): UsageStore {
    let store = this.#usageStores.get(stateDir);
    if (store === undefined) {
      store = new UsageStore(stateDir);
      this.#usageStores.set(stateDir, store);
    }
    return store;
  }

  // Never fails GetInfo: an unreadable auth.json is itself a status.
  async #auth(config: ResolvedConfig): Promise<AuthStatus> {
    try {
      return await detectAuth(config, this.#options.env);
    } catch (error) {
      return {
        mode: "none",
        ready: false,
        detail: `could not check credentials: ${String(error)}`,
      };
    }
  }
}
