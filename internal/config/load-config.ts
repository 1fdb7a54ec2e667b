// Validates the host config and resolves defaults. Every bad or unknown field is reported at once,
// so an operator fixes the config in one pass instead of one error per restart.
import { statSync } from "node:fs";
import { homedir } from "node:os";
import { isAbsolute, join } from "node:path";

import type { ZodIssue } from "zod";

import { AppError } from "../core/app-error.js";
import { type SandboxMode } from "../core/canonical-event.js";
import { checkConfigLimits } from "./config-limits.js";
import { flattenConfigOverrides } from "./config-overrides.js";
import {
  type BackendName,
  configSchema,
  DEFAULT_DIFF_MAX_BYTES,
  DEFAULT_MCP_HOST,
  DEFAULT_MODEL_ID,
  DEFAULT_TIMEOUTS,
  type RawConfig,
  type ThreadLostPolicy,
} from "./config-schema.js";
import {
  checkEndpointConfig,
  type ResolvedEndpoint,
  type ResolvedOpenai,
  resolveEndpoint,
  resolveOpenai,
} from "./endpoint-config.js";
import { MAX_CONFIG_JSON_BYTES, MAX_CONFIG_READ_BYTES, summariseProblems } from "./limits.js";
import type { ReasoningEffort } from "./model-knobs.js";

export const STATE_DIR_NAME = "plexum-openai-provider";

/** A non-fatal remark about the config, located by dotted path. */
export interface ConfigWarning {
  field: string;
  message: string;
}

export interface ResolvedTimeouts {
  turnMs: number;
  /** SIGINT to codex → SIGTERM to its process group. */
  interruptGraceMs: number;
  /** SIGTERM → SIGKILL. */
  terminateGraceMs: number;
  versionProbeMs: number;
  /** No progress from codex for this long fails the turn; 0 = no bound. */
  idleMs: number;
  /** No codex event this long after the spawn fails the turn; 0 = no bound. */
  firstEventMs: number;
  /** An app-server with no turn for this long is stopped; 0 = kept until Shutdown. */
  appServerIdleMs: number;
}

/** The host-tool bridge settings (config `mcp_host`). */
export interface ResolvedMcpHost {
  /** Absolute executable run as `<command> mcp-host`; undefined means the plugin's own path. */
  command: string | undefined;
  /** Directory of the per-agent sockets; undefined means derived from state_dir. */
  socketDir: string | undefined;
  /** codex's startup_timeout_sec for the bridge. */
  startupTimeoutMs: number;
  /** codex's tool_timeout_sec for one call. */
  toolTimeoutMs: number;
  /** How long the plugin waits for the host's tool_result. */
  hostTimeoutMs: number;
}

/** The config with defaults applied, in the shape the runner uses. */
export interface ResolvedConfig {
  /** How turns drive codex. */
  backend: BackendName;
  /** Operator-given codex path; undefined means PATH, then the bundled package. */
  binary: string | undefined;
  /** Exec-level flags, placed before `resume`. */
  extraArgs: readonly string[];
  supportedModels: readonly string[];
  /** Plexum model id → codex --model value. */
  modelArgs: Readonly<Record<string, string>>;
  stateDir: string;
  /** Exported as CODEX_HOME to codex when set. */
  codexHome: string | undefined;
  /** Each agent runs with its own CODEX_HOME under stateDir (auth.json linked to codexHome's). */
  perAgentCodexHome: boolean;
  /** A custom OpenAI-compatible endpoint; undefined uses codex's configured provider. */
  endpoint: ResolvedEndpoint | undefined;
  /** The built-in OpenAI provider's key variable and base URL. */
  openai: ResolvedOpenai;
  sandbox: SandboxMode;
  /** Extra writable directories under workspace-write (absolute). */
  writableDirs: readonly string[];
  /** Network access for commands under workspace-write. */
  networkAccess: boolean;
  /** codex's model_reasoning_effort; undefined keeps codex's default. */
  reasoningEffort: ReasoningEffort | undefined;
  /** Run each agent's turns in its own git worktree. */
  worktree: { enabled: boolean; baseRef: string };
  /** Bound of the per-turn unified diff; 0 collects none. */
  diffMaxBytes: number;
  /** Rendered `key=value` strings, each passed as `-c <assignment>`. */
  configOverrides: readonly string[];
  timeouts: ResolvedTimeouts;
  mcpHost: ResolvedMcpHost;
  /** A stored thread codex cannot resume: go on in a new thread, or fail the turn. */
  threadLostPolicy: ThreadLostPolicy;
}

export interface ParseConfigContext {
  env?: NodeJS.ProcessEnv;
  homeDir?: string;
}

export interface ParsedConfig {
  config: ResolvedConfig;
  warnings: ConfigWarning[];
}

// Flags the plugin sets itself; repeating them in extra_args conflicts or breaks the argv shape.
const OWNED_FLAGS = new Set([
  "resume",
  "-",
  "--json",
  "--experimental-json",
  "-s",
  "--sandbox",
  "--dangerously-bypass-approvals-and-sandbox",
  "-m",
  "--model",
  "-C",
  "--cd",
  "--last",
  "--add-dir",
  "--image",
  "-i",
  "--output-schema",
  "--worktree",
]);

/**
 * Validates the daemon-supplied config (a parsed JSON value, or JSON text) and applies defaults.
 * Throws AppError CONFIG_INVALID whose `fields` lists every bad or unknown dotted path.
 */
export function parseConfig(json: unknown, context: ParseConfigContext = {}): ParsedConfig {
  const env = context.env ?? process.env;
  const homeDir = context.homeDir ?? homedir();
  const input = normaliseInput(json);

  const errors: ConfigWarning[] = [];
  const warnings: ConfigWarning[] = [];
  // Loops, not push(...list): a list as long as the input would overflow the call stack.
  const add = (to: ConfigWarning[], list: readonly ConfigWarning[]) => {
    for (const item of list) to.push(item);
  };

  // Sizes first: a field over its bound is reported and left out of everything below.
  const limited = isRecord(input) ? checkConfigLimits(input) : undefined;
  if (limited !== undefined) add(errors, limited.problems);
  const record = limited?.within ?? {};

  const parsed = configSchema.safeParse(limited?.within ?? input);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) add(errors, issueToErrors(issue));
  }

  // Checked even when the schema failed elsewhere, so all problems surface together.
  const overrides = record["config_overrides"];
  const flattened = isRecord(overrides)
    ? flattenConfigOverrides(overrides)
    : { assignments: [], errors: [], warnings: [] };
  for (const issue of flattened.errors) errors.push({ field: issue.path, message: issue.message });
  for (const issue of flattened.warnings) {
    warnings.push({ field: issue.path, message: issue.message });
  }

  const stateDir = record["state_dir"];
  if (typeof stateDir === "string" && stateDir !== "" && !isAbsolute(stateDir)) {
    errors.push({ field: "state_dir", message: "must be an absolute path" });
  }
  const codexHome = record["codex_home"];
  if (typeof codexHome === "string" && codexHome !== "") {
    const problem = checkCodexHome(codexHome);
    if (problem !== undefined) errors.push({ field: "codex_home", message: problem });
  }

  const endpointIssues = checkEndpointConfig(record["endpoint"], record["openai"], env);
  add(errors, endpointIssues.errors);
  add(warnings, endpointIssues.warnings);

  const writableDirs = record["writable_dirs"];
  if (Array.isArray(writableDirs)) {
    writableDirs.forEach((dir, index) => {
      if (typeof dir === "string" && dir !== "" && !isAbsolute(dir)) {
        errors.push({ field: `writable_dirs.${index}`, message: "must be an absolute path" });
      }
    });
  }

  const mcpHost = record["mcp_host"];
  if (isRecord(mcpHost)) {
    for (const key of ["command", "socket_dir"]) {
      const value = mcpHost[key];
      if (typeof value === "string" && value !== "" && !isAbsolute(value)) {
        errors.push({ field: `mcp_host.${key}`, message: "must be an absolute path" });
      }
    }
  }

  if (errors.length > 0 || !parsed.success) {
    const { detail, fields } = summariseProblems(errors);
    throw new AppError("CONFIG_INVALID", `invalid plugin config: ${detail}`, { fields });
  }

  const raw = parsed.data;
  add(warnings, collectWarnings(raw));
  return { config: resolve(raw, flattened.assignments, env, homeDir), warnings };
}

function normaliseInput(json: unknown): unknown {
  if (json === undefined || json === null) return {};
  if (typeof json !== "string") return json;
  // UTF-8 never takes fewer bytes than UTF-16 code units: a huge text is measured without encoding.
  const bytes = json.length > MAX_CONFIG_READ_BYTES ? json.length : Buffer.byteLength(json);
  if (bytes > MAX_CONFIG_READ_BYTES) throw tooLarge(bytes, []);
  if (json.trim() === "") return {};
  let value: unknown;
  try {
    value = JSON.parse(json) as unknown;
  } catch (error) {
    throw new AppError(
      "CONFIG_INVALID",
      `invalid plugin config: not valid JSON (${String(error)})`,
      {
        cause: error,
        fields: ["(root)"],
      },
    );
  }
  // Parsed only to name the fields that make it large; nothing else is checked.
  if (bytes > MAX_CONFIG_JSON_BYTES) {
    throw tooLarge(bytes, isRecord(value) ? checkConfigLimits(value).problems : []);
  }
  return value;
}

function tooLarge(bytes: number, fields: readonly ConfigWarning[]): AppError {
  const { detail, fields: named } = summariseProblems([
    {
      field: "(root)",
      message: `is ${bytes} bytes of JSON; at most ${MAX_CONFIG_JSON_BYTES} are accepted`,
    },
    ...fields,
  ]);
  return new AppError("CONFIG_INVALID", `invalid plugin config: ${detail}`, { fields: named });
}

function issueToErrors(issue: ZodIssue): ConfigWarning[] {
  const base = issue.path.map(String);
  if (issue.code === "unrecognized_keys") {
    return issue.keys.map((key) => ({ field: [...base, key].join("."), message: "unknown key" }));
  }
  // A bad record key: the key schema's own message says what is wrong with it.
  const message =
    issue.code === "invalid_key"
      ? issue.issues.map((inner) => inner.message).join("; ")
      : issue.message;
  return [{ field: base.length === 0 ? "(root)" : base.join("."), message }];
}

function checkCodexHome(path: string): string | undefined {
  if (!isAbsolute(path)) return "must be an absolute path";
  try {
    if (!statSync(path).isDirectory()) return `${path} is not a directory`;
  } catch {
    // codex itself refuses to start when CODEX_HOME is missing; say so before any turn runs.
    return `${path} does not exist; create it (and log codex in there) first`;
  }
  return undefined;
}

function collectWarnings(raw: RawConfig): ConfigWarning[] {
  const warnings: ConfigWarning[] = [];
  if (raw.binary !== undefined && !isAbsolute(raw.binary)) {
    warnings.push({
      field: "binary",
      message:
        "is not an absolute path; daemons often run with a minimal PATH, so give the full path",
    });
  }
  const models = new Set(raw.supported_models ?? [DEFAULT_MODEL_ID]);
  for (const key of Object.keys(raw.model_args ?? {})) {
    if (!models.has(key)) {
      warnings.push({ field: `model_args.${key}`, message: "is not in supported_models; unused" });
    }
  }
  const hostSeconds = raw.mcp_host?.host_timeout_seconds ?? DEFAULT_MCP_HOST.host_timeout_seconds;
  const toolSeconds = raw.mcp_host?.tool_timeout_seconds ?? DEFAULT_MCP_HOST.tool_timeout_seconds;
  if (hostSeconds >= toolSeconds) {
    warnings.push({
      field: "mcp_host.host_timeout_seconds",
      message:
        `is not below mcp_host.tool_timeout_seconds (${toolSeconds}); codex gives up on a slow ` +
        "host tool first, with a less clear error",
    });
  }
  if (raw.backend === "app-server" && (raw.extra_args ?? []).length > 0) {
    warnings.push({
      field: "extra_args",
      message: 'are flags of `codex exec`; backend "app-server" does not use them',
    });
  }
  (raw.extra_args ?? []).forEach((arg, index) => {
    if (OWNED_FLAGS.has(arg.split("=")[0] ?? arg)) {
      warnings.push({
        field: `extra_args.${index}`,
        message: `"${arg}" conflicts with flags the plugin sets itself`,
      });
    }
  });
  return warnings;
}

function resolve(
  raw: RawConfig,
  overrides: string[],
  env: NodeJS.ProcessEnv,
  homeDir: string,
): ResolvedConfig {
  const given = raw.timeouts ?? {};
  const timeouts = {
    turn_seconds: given.turn_seconds ?? DEFAULT_TIMEOUTS.turn_seconds,
    interrupt_grace_seconds:
      given.interrupt_grace_seconds ?? DEFAULT_TIMEOUTS.interrupt_grace_seconds,
    terminate_grace_seconds:
      given.terminate_grace_seconds ?? DEFAULT_TIMEOUTS.terminate_grace_seconds,
    version_probe_seconds: given.version_probe_seconds ?? DEFAULT_TIMEOUTS.version_probe_seconds,
    idle_seconds: given.idle_seconds ?? DEFAULT_TIMEOUTS.idle_seconds,
    first_event_seconds: given.first_event_seconds ?? DEFAULT_TIMEOUTS.first_event_seconds,
    app_server_idle_seconds:
      given.app_server_idle_seconds ?? DEFAULT_TIMEOUTS.app_server_idle_seconds,
  };
  return {
    backend: raw.backend ?? "exec",
    binary: raw.binary,
    extraArgs: raw.extra_args ?? [],
    supportedModels: raw.supported_models ?? [DEFAULT_MODEL_ID],
    modelArgs: raw.model_args ?? {},
    stateDir: raw.state_dir ?? defaultStateDir(env, homeDir),
    codexHome: raw.codex_home,
    perAgentCodexHome: raw.per_agent_codex_home ?? false,
    endpoint: resolveEndpoint(raw.endpoint),
    openai: resolveOpenai(raw.openai),
    sandbox: raw.sandbox ?? "bypass",
    writableDirs: raw.writable_dirs ?? [],
    networkAccess: raw.network_access ?? false,
    reasoningEffort: raw.reasoning_effort,
    worktree: { enabled: raw.worktree?.enabled ?? false, baseRef: raw.worktree?.base_ref ?? "" },
    diffMaxBytes: raw.diff_max_bytes ?? DEFAULT_DIFF_MAX_BYTES,
    configOverrides: overrides,
    threadLostPolicy: raw.thread_lost_policy ?? "new_thread",
    timeouts: {
      turnMs: Math.round(timeouts.turn_seconds * 1000),
      interruptGraceMs: Math.round(timeouts.interrupt_grace_seconds * 1000),
      terminateGraceMs: Math.round(timeouts.terminate_grace_seconds * 1000),
      versionProbeMs: Math.round(timeouts.version_probe_seconds * 1000),
      idleMs: Math.round(timeouts.idle_seconds * 1000),
      firstEventMs: Math.round(timeouts.first_event_seconds * 1000),
      appServerIdleMs: Math.round(timeouts.app_server_idle_seconds * 1000),
    },
    mcpHost: {
      command: raw.mcp_host?.command,
      socketDir: raw.mcp_host?.socket_dir,
      startupTimeoutMs: secondsToMs(
        raw.mcp_host?.startup_timeout_seconds ?? DEFAULT_MCP_HOST.startup_timeout_seconds,
      ),
      toolTimeoutMs: secondsToMs(
        raw.mcp_host?.tool_timeout_seconds ?? DEFAULT_MCP_HOST.tool_timeout_seconds,
      ),
      hostTimeoutMs: secondsToMs(
        raw.mcp_host?.host_timeout_seconds ?? DEFAULT_MCP_HOST.host_timeout_seconds,
      ),
    },
  };
}

/** $XDG_STATE_HOME/plexum-openai-provider, else ~/.local/state/plexum-openai-provider. */
export function defaultStateDir(env: NodeJS.ProcessEnv, homeDir: string): string {
  const xdg = env["XDG_STATE_HOME"];
  // The XDG spec says relative values are invalid and must be ignored.
  if (xdg !== undefined && xdg !== "" && isAbsolute(xdg)) return join(xdg, STATE_DIR_NAME);
  return join(homeDir, ".local", "state", STATE_DIR_NAME);
}

function secondsToMs(value: number): number {
  return Math.round(value * 1000);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
