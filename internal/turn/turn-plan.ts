// Checks a turn request against the config and the codex binary before anything is spawned, and
// turns it into the concrete values a codex run needs.
import { constants } from "node:fs";
import { access, stat } from "node:fs/promises";
import { isAbsolute } from "node:path";

import { codexHomeForAgent } from "../codex/agent-codex-home.js";
import { detectAuth } from "../codex/auth-status.js";
import type { CodexBinaryStatus } from "../codex/binary.js";
import { planProvider, type ProviderSetup } from "../codex/provider-setup.js";
import { resolveSandboxPolicy } from "../codex/sandbox-policy.js";
import { checkLiteralOverride } from "../config/config-overrides.js";
import { DEFAULT_MODEL_ID, type ThreadLostPolicy } from "../config/config-schema.js";
import { pathProblem, quote } from "../config/limits.js";
import type { ResolvedConfig } from "../config/load-config.js";
import { modelSettingsAssignments, reasoningEffortAssignment } from "../config/model-knobs.js";
import type { AgentId } from "../core/agent-id.js";
import type { SandboxMode, SandboxPolicy } from "../core/canonical-event.js";
import { type StreamErrorCode, type TurnError, turnError } from "../core/turn-error.js";
import { compileOutputSchema, type OutputSchema } from "./output-schema.js";
import { type CheckedImage, checkImages } from "./turn-images.js";
import type { TurnRequest } from "./turn-request.js";

/** codex rejects a user input over this many characters at turn/start, after printing a thread id. */
export const MAX_PROMPT_CHARS = 1_048_576;

export interface TurnPlan {
  agentId: AgentId;
  /** CODEX_HOME as codex sees it: where its sessions and rollouts are. */
  codexHome: string;
  /** The CODEX_HOME to set for codex (undefined: it inherits the plugin's). */
  codexHomeEnv: string | undefined;
  /** CODEX_SQLITE_HOME to set: each per-agent home keeps its own databases. */
  sqliteHome: string | undefined;
  workspace: string;
  prompt: string;
  /** The Plexum model id the turn runs under. */
  modelId: string;
  /** The codex --model value; undefined keeps codex's default. */
  cliModel: string | undefined;
  sandbox: SandboxMode;
  /** Config overrides followed by this turn's overrides (later wins in codex). */
  configOverrides: string[];
  turnTimeoutMs: number;
  /** No progress for this long fails the turn; 0 = no bound. */
  idleTimeoutMs: number;
  /** No codex event this long after the spawn fails the turn; 0 = no bound. */
  firstEventTimeoutMs: number;
  threadLostPolicy: ThreadLostPolicy;
  /** Where model requests go: codex environment changes and the secrets to scrub. */
  provider: ProviderSetup;
  /** The effective sandbox policy (turn_started), re-sent on every turn. */
  policy: SandboxPolicy;
  /** The prompt's images, checked. */
  images: CheckedImage[];
  /** The final message's JSON Schema, compiled. */
  outputSchema: OutputSchema | undefined;
  /** Run the turn in the agent's git worktree. */
  worktree: { enabled: boolean; baseRef: string };
  /** Bound of the turn's unified diff; 0 collects none. */
  diffMaxBytes: number;
}

/** What planTurn needs besides the request, the config and the binary. */
export interface PlanOptions {
  /** The plugin's environment, which codex inherits; process.env by default. */
  env?: NodeJS.ProcessEnv;
  /**
   * Refuse a turn with an AUTH error before spawning when codex's built-in OpenAI provider would
   * run without credentials (codex would send requests with no Authorization header).
   */
  checkAuth?: boolean;
}

export type PlanResult = { ok: true; plan: TurnPlan } | { ok: false; error: TurnError };

/** Validates `request`; every failure is a non-retryable precondition or auth error. */
export async function planTurn(
  request: TurnRequest,
  config: ResolvedConfig,
  binary: CodexBinaryStatus,
  options: PlanOptions = {},
): Promise<PlanResult> {
  const env = options.env ?? process.env;
  if (!binary.ready) {
    return fail(
      binary.code ?? "CODEX_BINARY_NOT_FOUND",
      `codex is not usable: ${binary.degradedReason}`,
    );
  }
  const workspaceProblem = await checkDirectory(request.workspace);
  if (workspaceProblem !== undefined)
    return fail("WORKSPACE_INVALID", `workspace ${workspaceProblem}`);
  if (config.codexHome !== undefined) {
    const homeProblem = await checkDirectory(config.codexHome);
    if (homeProblem !== undefined) return fail("NOT_CONFIGURED", `codex_home ${homeProblem}`);
  }

  if (request.prompt.trim() === "") return fail("PROMPT_INVALID", "the prompt is empty");
  const promptChars = countChars(request.prompt);
  if (promptChars > MAX_PROMPT_CHARS) {
    return fail(
      "PROMPT_TOO_LARGE",
      `the prompt has ${promptChars} characters; codex accepts at most ${MAX_PROMPT_CHARS}`,
    );
  }

  const modelId =
    request.model === "" ? (config.supportedModels[0] ?? DEFAULT_MODEL_ID) : request.model;
  if (!config.supportedModels.includes(modelId)) {
    return fail(
      "MODEL_UNSUPPORTED",
      `model "${modelId}" is not supported; supported models: ${config.supportedModels.join(", ")}`,
    );
  }
  const cliModel = cliModelFor(config, modelId);

  const policy = await resolveSandboxPolicy(config, request.options);
  if (!policy.ok) return fail("REQUEST_INVALID", policy.message);
  const sandbox = policy.policy.sandbox;

  // Model knobs sit between the configured overrides and the turn's own, which win over them.
  const knobs: string[] = [];
  const effort = request.options.reasoningEffort ?? config.reasoningEffort;
  if (effort !== undefined) {
    const checked = reasoningEffortAssignment(effort);
    if (!checked.ok) return fail("REQUEST_INVALID", checked.message);
    knobs.push(...checked.assignments);
  }
  if (request.options.modelSettings !== undefined) {
    const checked = modelSettingsAssignments(request.options.modelSettings);
    if (!checked.ok) return fail("REQUEST_INVALID", checked.message);
    knobs.push(...checked.assignments);
  }
  let outputSchema: OutputSchema | undefined;
  if (request.options.outputSchemaJson !== undefined) {
    const compiled = compileOutputSchema(request.options.outputSchemaJson);
    if (!compiled.ok) return fail("OUTPUT_SCHEMA_INVALID", compiled.message);
    outputSchema = compiled.schema;
  }
  const images = await checkImages(request.images ?? [], request.workspace);
  if (!images.ok) return fail("IMAGE_INVALID", images.message);

  const turnOverrides: string[] = [];
  for (const [key, literal] of Object.entries(request.options.configOverrides ?? {})) {
    const checked = checkLiteralOverride(key, literal);
    if (!checked.ok) return fail("REQUEST_INVALID", `config override ${checked.message}`);
    turnOverrides.push(checked.assignment);
  }
  const provider = planProvider(config, request.options.endpoint, env, cliModel);
  if (!provider.ok) return provider;
  if (
    options.checkAuth === true &&
    provider.value.usesDefaultProvider &&
    !provider.value.keyFromTurn
  ) {
    const auth = await detectAuth(config, env, turnOverrides);
    if (!auth.ready) {
      return {
        ok: false,
        error: turnError("NOT_LOGGED_IN", auth.detail),
      };
    }
  }
  // The endpoint's provider overrides the config's; the turn's own overrides win over both.
  const overrides = [
    ...config.configOverrides,
    ...provider.value.overrides,
    ...knobs,
    ...turnOverrides,
  ];

  const turnTimeoutMs = request.options.turnTimeoutMs ?? config.timeouts.turnMs;
  if (!Number.isFinite(turnTimeoutMs) || turnTimeoutMs <= 0) {
    return fail("REQUEST_INVALID", `turn timeout ${turnTimeoutMs} ms must be a positive number`);
  }
  const idleTimeoutMs = request.options.idleTimeoutMs ?? config.timeouts.idleMs;
  const firstEventTimeoutMs = request.options.firstEventTimeoutMs ?? config.timeouts.firstEventMs;
  for (const [name, value] of [
    ["idle timeout", idleTimeoutMs],
    ["first-event timeout", firstEventTimeoutMs],
  ] as const) {
    if (!Number.isFinite(value) || value < 0) {
      return fail("REQUEST_INVALID", `${name} ${value} ms must be 0 (none) or a positive number`);
    }
  }

  const codexHome = codexHomeForAgent(config, request.agentId, env);
  return {
    ok: true,
    plan: {
      agentId: request.agentId,
      codexHome,
      codexHomeEnv: config.perAgentCodexHome ? codexHome : config.codexHome,
      // An inherited CODEX_SQLITE_HOME would share the databases again.
      sqliteHome: config.perAgentCodexHome ? codexHome : undefined,
      workspace: request.workspace,
      prompt: request.prompt,
      modelId,
      cliModel: provider.value.cliModel,
      sandbox: sandbox as SandboxMode,
      policy: policy.policy,
      images: images.images,
      outputSchema,
      worktree: request.options.worktree ?? config.worktree,
      diffMaxBytes: config.diffMaxBytes,
      configOverrides: overrides,
      turnTimeoutMs,
      idleTimeoutMs,
      firstEventTimeoutMs,
      threadLostPolicy: config.threadLostPolicy,
      provider: provider.value,
    },
  };
}

function fail(code: StreamErrorCode, message: string): PlanResult {
  return { ok: false, error: turnError(code, message) };
}

async function checkDirectory(path: string): Promise<string | undefined> {
  if (path === "" || !isAbsolute(path)) return `${quote(path)} is not an absolute path`;
  // Refused before the stat: no such path can exist.
  const problem = pathProblem(path);
  if (problem !== undefined) return problem;
  try {
    if (!(await stat(path)).isDirectory()) return `${path} is not a directory`;
  } catch {
    return `${path} does not exist`;
  }
  try {
    // codex needs to list it and enter it (cwd).
    await access(path, constants.R_OK | constants.X_OK);
  } catch {
    return `${path} is not readable by the plugin's user (uid ${process.getuid?.() ?? "?"})`;
  }
  return undefined;
}

// codex counts Unicode scalar values; JS length counts UTF-16 units, which is never fewer.
function countChars(text: string): number {
  if (text.length <= MAX_PROMPT_CHARS) return text.length;
  let count = 0;
  for (const _char of text) count += 1;
  return count;
}

/** The codex --model value for a Plexum model id; undefined keeps codex's own default. */
export function cliModelFor(
  config: Pick<ResolvedConfig, "modelArgs"> & Partial<Pick<ResolvedConfig, "endpoint">>,
  modelId: string,
): string | undefined {
  // With an endpoint, "codex's default" is the endpoint's model (codex's own default would be an
  // OpenAI slug the endpoint does not serve).
  const fallback = modelId === DEFAULT_MODEL_ID ? config.endpoint?.model : modelId;
  return config.modelArgs[modelId] ?? fallback;
}
