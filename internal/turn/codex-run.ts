// One codex run of a turn, as a backend gets it: the plan, the prepared setup and the thread to
// resume, put together; and what the log says about it (never a secret).
import type { Logger } from "pino";

import type { CodexBinaryStatus } from "../codex/binary.js";
import type { McpServerRegistration } from "../mcp/mcp-registration.js";
import type { CodexRun } from "./codex-backend.js";
import type { TurnPlan } from "./turn-plan.js";
import type { TurnSetup } from "./turn-setup.js";

export interface CodexRunParts {
  plan: TurnPlan;
  setup: TurnSetup;
  binary: CodexBinaryStatus;
  resumeThreadId: string | undefined;
  mcpServers: readonly McpServerRegistration[];
  logger: Logger;
}

/** The run a backend starts. */
export function codexRunOf(parts: CodexRunParts): CodexRun {
  const { plan, setup, binary } = parts;
  return {
    agentId: plan.agentId,
    codex: { path: binary.path, helperPathDir: binary.helperPathDir, features: binary.features },
    prompt: plan.prompt,
    cwd: setup.cwd,
    codexHome: plan.codexHomeEnv,
    sqliteHome: plan.sqliteHome,
    sandbox: plan.sandbox,
    writableDirs: plan.policy.writableDirs,
    networkAccess: plan.policy.networkAccess,
    cliModel: plan.cliModel,
    configOverrides: plan.configOverrides,
    images: setup.imagePaths,
    outputSchemaPath: setup.outputSchemaPath,
    resumeThreadId: parts.resumeThreadId,
    mcpServers: parts.mcpServers,
    env: { set: plan.provider.envSet, unset: plan.provider.envUnset },
    logger: parts.logger,
  };
}

/** The log fields of a run that starts; override keys only, as their values may be secrets. */
export function runLogFields(run: CodexRun, plan: TurnPlan, backend: string): object {
  return {
    backend,
    resume: run.resumeThreadId,
    model: run.cliModel,
    sandbox: run.sandbox,
    codex: run.codex.path,
    overrides: run.configOverrides.map((assignment) => assignment.split("=", 1)[0]),
    provider: plan.provider.description,
    mcp_servers: run.mcpServers.map((server) => server.name),
  };
}
