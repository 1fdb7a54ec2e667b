// CompactThread for one agent: holds the agent's slot for the whole compaction (a RunTurn meanwhile
// is refused with AGENT_BUSY, as during a turn; a running turn refuses the compaction the same way),
// finds the agent's thread, plans the codex run with the settings the agent's turns get (CODEX_HOME,
// the config's `-c` overrides, its endpoint and reasoning effort, the model), and hands it to the
// compactor. Shutdown cancels it through the slot.
import type { Logger } from "pino";

import { codexHomeForAgent } from "../codex/agent-codex-home.js";
import type { CodexBinaryStatus } from "../codex/binary.js";
import { planProvider } from "../codex/provider-setup.js";
import { DEFAULT_MODEL_ID } from "../config/config-schema.js";
import type { ResolvedConfig } from "../config/load-config.js";
import { reasoningEffortAssignment } from "../config/model-knobs.js";
import type { AgentId } from "../core/agent-id.js";
import { AppError } from "../core/app-error.js";
import { isThreadId } from "../core/thread-id.js";
import type { ThreadStore } from "../store/thread-store.js";
import type { AgentSlots } from "./agent-slots.js";
import type { CompactionResult, CompactionRun, ThreadCompactor } from "./thread-compactor.js";
import { cliModelFor } from "./turn-plan.js";

export interface CompactServiceOptions {
  config: ResolvedConfig;
  slots: AgentSlots;
  store: ThreadStore;
  compactor: ThreadCompactor;
  binary: () => Promise<CodexBinaryStatus>;
  /** The environment codex inherits. */
  env: NodeJS.ProcessEnv;
  logger: Logger;
  /** Frees the thread from a codex that keeps it loaded between turns (CodexBackend). */
  releaseThread?: ((threadId: string) => Promise<void>) | undefined;
}

/** What CompactThread answers. */
export interface CompactThreadResult extends CompactionResult {
  /** The Plexum model id the compaction ran under. */
  modelId: string;
}

/** CompactThread refused because the agent has a turn running or a compaction (gRPC ABORTED). */
export function compactBusyError(agentId: string): AppError {
  return new AppError(
    "AGENT_BUSY",
    `agent ${JSON.stringify(agentId)} has a turn or a compaction running; CompactThread never ` +
      "compacts a thread codex is working in: retry after the turn's turn_end",
  );
}

/** Compacts agents' threads between their turns. */
export class CompactService {
  readonly #options: CompactServiceOptions;

  constructor(options: CompactServiceOptions) {
    this.#options = options;
  }

  /** Compacts the agent's current thread; `model` is a Plexum model id ("" = the default). */
  async compact(agentId: AgentId, model: string): Promise<CompactThreadResult> {
    const { slots, store, compactor, config } = this.#options;
    const logger = this.#options.logger.child({ agent_id: agentId });
    const modelId = model === "" ? (config.supportedModels[0] ?? DEFAULT_MODEL_ID) : model;
    if (!config.supportedModels.includes(modelId)) {
      throw new AppError(
        "REQUEST_INVALID",
        `model "${modelId}" is not supported; supported models: ${config.supportedModels.join(", ")}`,
        { fields: ["model"] },
      );
    }
    const binary = await this.#options.binary();
    checkBinary(binary);
    const slot = await slots.claimExclusive(agentId, "a compaction", () =>
      compactBusyError(agentId),
    );
    try {
      const loaded = await store.load(agentId);
      if (loaded.status === "corrupt") {
        throw new AppError(
          "THREAD_STORE_FAILED",
          `the thread record of agent ${JSON.stringify(agentId)} is unreadable: ${loaded.reason}`,
        );
      }
      if (loaded.status === "none" || !isThreadId(loaded.record.thread_id)) {
        throw new AppError(
          "THREAD_NOT_FOUND",
          `agent ${JSON.stringify(agentId)} has no thread to compact (no finished turn since ` +
            "its last reset)",
          { fields: ["agent_id"] },
        );
      }
      if (!loaded.record.confirmed) {
        throw new AppError(
          "THREAD_NOT_FOUND",
          `thread ${loaded.record.thread_id} of agent ${JSON.stringify(agentId)} has no finished ` +
            "turn yet, so codex has nothing it can load",
        );
      }
      const { secrets, ...run } = planRun(
        this.#options,
        agentId,
        modelId,
        loaded.record.thread_id,
        binary,
      );
      // A warm codex app-server (backend "app-server") must not hold the thread meanwhile.
      await this.#options.releaseThread?.(run.threadId);
      logger.info({ thread_id: run.threadId, model: run.cliModel }, "compaction started");
      const result = await compactor
        .compact({ ...run, logger }, slot.signal)
        .catch((error: unknown) => {
          throw redacted(AppError.from(error), secrets);
        });
      return { ...result, modelId };
    } finally {
      slot.release();
    }
  }
}

function checkBinary(binary: CodexBinaryStatus): void {
  if (!binary.ready) {
    throw new AppError("NOT_CONFIGURED", `codex is not usable: ${binary.degradedReason}`);
  }
}

// The codex run of a compaction, built from the same parts as a turn's plan (turn-plan.ts).
function planRun(
  options: CompactServiceOptions,
  agentId: AgentId,
  modelId: string,
  threadId: string,
  binary: CodexBinaryStatus,
): CompactionRun & { secrets: readonly string[] } {
  const { config, env, store } = options;
  const provider = planProvider(config, undefined, env, cliModelFor(config, modelId));
  if (!provider.ok) throw new AppError("CONFIG_INVALID", provider.error.message);
  const knobs: string[] = [];
  if (config.reasoningEffort !== undefined) {
    const effort = reasoningEffortAssignment(config.reasoningEffort);
    if (effort.ok) knobs.push(...effort.assignments);
  }
  const codexHome = codexHomeForAgent(config, agentId, env);
  return {
    agentId,
    threadId,
    codex: { path: binary.path, helperPathDir: binary.helperPathDir },
    // The agent's state directory: it exists (the thread record is in it) and no command runs.
    cwd: store.agentDir(agentId),
    codexHome: config.perAgentCodexHome ? codexHome : config.codexHome,
    sqliteHome: config.perAgentCodexHome ? codexHome : undefined,
    cliModel: provider.value.cliModel,
    configOverrides: [...config.configOverrides, ...provider.value.overrides, ...knobs],
    env: { set: provider.value.envSet, unset: provider.value.envUnset },
    logger: options.logger,
    secrets: provider.value.secrets,
  };
}

// A call error whose message cannot carry a key codex echoed.
function redacted(error: AppError, secrets: readonly string[]): AppError {
  let message = error.message;
  for (const secret of secrets)
    if (secret !== "") message = message.replaceAll(secret, "[redacted]");
  return message === error.message ? error : new AppError(error.code, message, { cause: error });
}
