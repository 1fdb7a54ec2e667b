// Checks a turn request against the config and the codex binary before anything is spawned, and
// turns it into the concrete values a codex run needs.
import { stat } from "node:fs/promises";
import { isAbsolute } from "node:path";

import { checkLiteralOverride } from "../config/config-overrides.js";
import { DEFAULT_MODEL_ID, SANDBOX_MODES, type SandboxMode } from "../config/config-schema.js";
import type { ResolvedConfig } from "../config/load-config.js";
import type { AppErrorCode } from "../errors.js";
import { isAppError } from "../errors.js";
import { validateAgentId } from "../store/agent-id.js";
import type { CodexBinaryStatus } from "./binary.js";
import type { TurnError } from "./canonical-event.js";
import type { TurnRequest } from "./turn-request.js";

/** codex rejects a user input over this many characters at turn/start, after printing a thread id. */
export const MAX_PROMPT_CHARS = 1_048_576;

export interface TurnPlan {
  agentId: string;
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
}

export type PlanResult = { ok: true; plan: TurnPlan } | { ok: false; error: TurnError };

/** Validates `request`; every failure is a non-retryable precondition error. */
export async function planTurn(
  request: TurnRequest,
  config: ResolvedConfig,
  binary: CodexBinaryStatus,
): Promise<PlanResult> {
  if (!binary.ready) {
    return fail(
      binary.code ?? "CODEX_BINARY_NOT_FOUND",
      `codex is not usable: ${binary.degradedReason}`,
    );
  }
  try {
    validateAgentId(request.agentId);
  } catch (error) {
    return fail("AGENT_ID_INVALID", isAppError(error) ? error.message : String(error));
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

  const sandbox = request.options.sandbox ?? config.sandbox;
  if (!(SANDBOX_MODES as readonly string[]).includes(sandbox)) {
    return fail(
      "REQUEST_INVALID",
      `sandbox "${sandbox}" is not one of ${SANDBOX_MODES.join(", ")}`,
    );
  }

  const overrides = [...config.configOverrides];
  for (const [key, literal] of Object.entries(request.options.configOverrides ?? {})) {
    const checked = checkLiteralOverride(key, literal);
    if (!checked.ok) return fail("REQUEST_INVALID", `config override ${checked.message}`);
    overrides.push(checked.assignment);
  }

  const turnTimeoutMs = request.options.turnTimeoutMs ?? config.timeouts.turnMs;
  if (!Number.isFinite(turnTimeoutMs) || turnTimeoutMs <= 0) {
    return fail("REQUEST_INVALID", `turn timeout ${turnTimeoutMs} ms must be a positive number`);
  }

  return {
    ok: true,
    plan: {
      agentId: request.agentId,
      workspace: request.workspace,
      prompt: request.prompt,
      modelId,
      cliModel,
      sandbox: sandbox as SandboxMode,
      configOverrides: overrides,
      turnTimeoutMs,
    },
  };
}

function fail(code: AppErrorCode, message: string): PlanResult {
  return { ok: false, error: { class: "precondition", code, message, retryable: false } };
}

async function checkDirectory(path: string): Promise<string | undefined> {
  if (path === "" || !isAbsolute(path)) return `"${path}" is not an absolute path`;
  try {
    if (!(await stat(path)).isDirectory()) return `${path} is not a directory`;
  } catch {
    return `${path} does not exist`;
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
export function cliModelFor(config: ResolvedConfig, modelId: string): string | undefined {
  return config.modelArgs[modelId] ?? (modelId === DEFAULT_MODEL_ID ? undefined : modelId);
}
