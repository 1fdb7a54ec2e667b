// The checks of `plexum-openai-provider-plugin doctor`. Each says, in plain words, what it found
// and, when something is wrong, what to do. Nothing here changes the operator's files: directory
// checks write and remove one probe file, or look at the nearest existing parent.
import { randomBytes } from "node:crypto";
import { constants } from "node:fs";
import { access, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

import { codexHomeForAgent } from "../codex/agent-codex-home.js";
import {
  type AuthStatus,
  detectAuth,
  overrideString,
  readCodexConfigFacts,
} from "../codex/auth-status.js";
import type { CodexBinaryStatus } from "../codex/binary.js";
import {
  CODEX_FEATURES,
  missingFeaturesFor,
  untestedCodexDiagnostic,
} from "../codex/codex-capabilities.js";
import { effectiveCodexHome } from "../codex/codex-home.js";
import { MIN_CODEX_VERSION, NEWEST_VERIFIED_CODEX_VERSION } from "../codex/codex-version.js";
import { pathProblem, shorten } from "../config/limits.js";
import type { ResolvedConfig } from "../config/load-config.js";
import { agentSocketPath, MAX_SOCKET_PATH_BYTES } from "../mcp/socket-path.js";

export type CheckStatus = "ok" | "warn" | "fail";

/** One line of the report. */
export interface CheckResult {
  name: string;
  status: CheckStatus;
  /** What was found. */
  detail: string;
  /** What to do; set for warn and fail. */
  remedy?: string;
}

/**
 * The codex line, then a warning for each way this codex differs from a tested one with every
 * feature: an untested (newer) release, a missing feature.
 */
export function codexChecks(
  binary: CodexBinaryStatus,
  backend: "exec" | "app-server",
): CheckResult[] {
  if (!binary.ready) {
    return [
      {
        name: "codex",
        status: "fail",
        detail: binary.path === "" ? "no codex executable found" : `${binary.path} is not usable`,
        remedy: binary.degradedReason,
      },
    ];
  }
  const found: CheckResult = {
    name: "codex",
    status: "ok",
    detail:
      `${binary.path} (${binary.source}), codex-cli ${binary.version}, supported ` +
      `(minimum ${MIN_CODEX_VERSION}, tested up to ${NEWEST_VERIFIED_CODEX_VERSION})`,
  };
  // Found without `binary`: what this shell finds is not necessarily what the daemon will.
  if (binary.source === "path") {
    found.status = "warn";
    found.detail += "; found on this shell's PATH, which the daemon's may not match";
    found.remedy = `set "binary": "${binary.path}" in the plugin config`;
  } else if (binary.source === "bundled") {
    found.status = "warn";
    found.detail += "; the pinned codex in the node_modules next to the plugin";
    found.remedy = `a plugin installed elsewhere will not find it: set "binary" (README, Install)`;
  }
  const results = [found];
  const untested = untestedCodexDiagnostic(binary.version);
  if (untested !== undefined) {
    results.push({
      name: "codex",
      status: "warn",
      detail: untested.summary,
      remedy: untested.detail,
    });
  }
  for (const feature of missingFeaturesFor(binary.version, backend)) {
    const info = CODEX_FEATURES[feature];
    results.push({
      name: "codex",
      status: "warn",
      detail: `no ${feature}: ${info.without}`,
      remedy: `upgrade codex to ${info.since} or newer, which ${info.what}`,
    });
  }
  return results;
}

/**
 * `codex` is the codex the plugin runs (its absolute path when known): after `npm ci` or a copy of
 * the plugin, no `codex` need be on PATH, so the remedies name the one to use.
 */
export function authCheck(
  auth: AuthStatus,
  where: { codex: string; codexHome: string },
): CheckResult {
  const result: CheckResult = {
    name: "auth",
    status: auth.ready ? (auth.mode === "none" ? "warn" : "ok") : "fail",
    detail: `mode ${auth.mode}: ${auth.detail}`,
  };
  const codex = `CODEX_HOME=${where.codexHome} ${where.codex}`;
  if (!auth.ready && auth.mode === "none") {
    result.remedy =
      `as the daemon's user, run \`${codex} login --device-auth\` (ChatGPT) or ` +
      `\`printenv OPENAI_API_KEY | ${codex} login --with-api-key\`; until then turns fail at ` +
      "once with an AUTH error";
  } else if (!auth.ready) {
    result.remedy = "do as the line says; until then turns fail at once with an AUTH error";
  } else if (auth.mode === "none") {
    result.remedy = `check with \`${codex} login status\` as the daemon's user`;
  }
  return result;
}

/** Where the endpoint check sends its one request, and with which key (never printed). */
export interface ProbeTarget {
  /** The provider base URL; `/models` is requested under it. */
  baseUrl: string;
  apiKey: string | undefined;
  /** For the report. */
  what: string;
}

/** The base URL and key a turn would use, from the config, codex's config and the environment. */
export async function probeTarget(
  config: ResolvedConfig,
  env: NodeJS.ProcessEnv,
  auth: AuthStatus,
): Promise<ProbeTarget | undefined> {
  const endpoint = config.endpoint;
  if (endpoint !== undefined) {
    return {
      baseUrl: endpoint.baseUrl,
      apiKey: endpoint.apiKeyEnv === undefined ? undefined : nonEmpty(env[endpoint.apiKeyEnv]),
      what: `endpoint ${endpoint.baseUrl}`,
    };
  }
  const overrides = config.configOverrides;
  const provider =
    overrideString(overrides, "model_provider") ??
    (await readCodexConfigFacts(effectiveCodexHome(config.codexHome, env))).modelProvider;
  if (provider !== undefined && provider !== "openai") {
    const baseUrl = overrideString(overrides, `model_providers.${provider}.base_url`);
    if (baseUrl === undefined) return undefined;
    const keyEnv = overrideString(overrides, `model_providers.${provider}.env_key`);
    return {
      baseUrl,
      apiKey: keyEnv === undefined ? undefined : nonEmpty(env[keyEnv]),
      what: `model provider ${provider} at ${baseUrl}`,
    };
  }
  const configuredBase = config.openai.baseUrl ?? overrideString(overrides, "openai_base_url");
  if (auth.mode === "chatgpt") {
    const baseUrl = configuredBase ?? "https://chatgpt.com/backend-api/codex";
    return { baseUrl, apiKey: undefined, what: `ChatGPT's Codex backend at ${baseUrl}` };
  }
  const keyEnv = config.openai.apiKeyEnv;
  const apiKey = nonEmpty(keyEnv === undefined ? env["CODEX_API_KEY"] : env[keyEnv]);
  const baseUrl = configuredBase ?? "https://api.openai.com/v1";
  return { baseUrl, apiKey, what: `OpenAI at ${baseUrl}` };
}

/**
 * One GET <base_url>/models with a short timeout. Any HTTP answer proves the endpoint reachable;
 * 401/403 with a key means the key was refused.
 */
export async function endpointCheck(
  target: ProbeTarget | undefined,
  timeoutMs: number,
  fetchImpl: typeof fetch = fetch,
): Promise<CheckResult> {
  if (target === undefined) {
    return {
      name: "endpoint",
      status: "warn",
      detail:
        "the model provider's base URL is not known to the plugin (set in codex's own config)",
      remedy: "configure `endpoint` in the plugin config to have it checked",
    };
  }
  const url = `${target.baseUrl.replace(/\/+$/, "")}/models`;
  const headers: Record<string, string> = {};
  if (target.apiKey !== undefined) headers["authorization"] = `Bearer ${target.apiKey}`;
  const started = Date.now();
  try {
    const response = await fetchImpl(url, {
      headers,
      signal: AbortSignal.timeout(timeoutMs),
      redirect: "manual",
    });
    await response.body?.cancel().catch(() => undefined);
    const ms = Date.now() - started;
    if ((response.status === 401 || response.status === 403) && target.apiKey !== undefined) {
      return {
        name: "endpoint",
        status: "fail",
        detail: `${target.what}: reachable, but GET ${url} answered ${response.status} to the API key (${ms} ms)`,
        remedy: "check the key in the variable the config names",
      };
    }
    return {
      name: "endpoint",
      status: "ok",
      detail: `${target.what}: reachable, GET ${url} answered HTTP ${response.status} in ${ms} ms`,
    };
  } catch (error) {
    const reason =
      error instanceof Error && error.name === "TimeoutError"
        ? `no answer within ${timeoutMs} ms`
        : describeFetchError(error);
    return {
      name: "endpoint",
      status: "fail",
      detail: `${target.what}: GET ${url} failed: ${reason}`,
      remedy:
        "check the base URL, DNS, firewall and that the server runs; codex would retry it " +
        'forever ("Reconnecting... waiting for network") until the turn\'s time limit',
    };
  }
}

/** Can the plugin create files in `path` (or create `path` itself)? */
export async function writableCheck(
  name: string,
  path: string,
  options: { mustExist?: boolean; remedy?: string } = {},
): Promise<CheckResult> {
  // Nothing to look for: walking up the parents of such a path is quadratic in its length.
  const problem = pathProblem(path);
  if (problem !== undefined) {
    return {
      name,
      status: "fail",
      detail: `${shorten(path)} ${problem}`,
      remedy: "use a shorter path",
    };
  }
  const info = await statOrUndefined(path);
  if (info === undefined) {
    if (options.mustExist === true) {
      return {
        name,
        status: "fail",
        detail: `${path} does not exist`,
        remedy: options.remedy ?? `create it: mkdir -p ${path}`,
      };
    }
    const parent = await nearestExisting(dirname(path));
    if (await canWrite(parent)) {
      return {
        name,
        status: "ok",
        detail: `${path} does not exist yet; it can be created in ${parent}`,
      };
    }
    return {
      name,
      status: "fail",
      detail: `${path} does not exist and ${parent} is not writable by uid ${uid()}`,
      remedy: `create ${path} and give uid ${uid()} write access to it`,
    };
  }
  if (!info.isDirectory()) {
    return {
      name,
      status: "fail",
      detail: `${path} is not a directory`,
      remedy: "point the config at a directory",
    };
  }
  const probe = join(path, `.plexum-doctor-${randomBytes(6).toString("hex")}`);
  try {
    await writeFile(probe, "", { mode: 0o600, flag: "wx" });
    await rm(probe, { force: true });
    return { name, status: "ok", detail: `${path} is writable` };
  } catch (error) {
    return {
      name,
      status: "fail",
      detail: `${path} is not writable by uid ${uid()} (${describeFetchError(error)})`,
      remedy: `give uid ${uid()} write access: chown or chmod ${path}`,
    };
  }
}

/** CODEX_HOME: the operator's home, and per-agent homes when configured. */
export async function codexHomeChecks(
  config: ResolvedConfig,
  env: NodeJS.ProcessEnv,
): Promise<CheckResult[]> {
  const operatorHome = effectiveCodexHome(config.codexHome, env);
  const results = [
    await writableCheck("CODEX_HOME", operatorHome, {
      mustExist: true,
      remedy: `codex refuses to start without it: mkdir -p ${operatorHome} (and log codex in there)`,
    }),
  ];
  if (!config.perAgentCodexHome) return results;
  const example = codexHomeForAgent(config, "doctor-probe", env);
  const agentsDir = dirname(dirname(example));
  const perAgent = await writableCheck("per-agent CODEX_HOME", agentsDir);
  perAgent.detail =
    "each agent gets <state_dir>/agents/<agent>-<16 hex of sha256(agent)>/codex-home " +
    `(e.g. ${example} for agent "doctor-probe"); ${perAgent.detail}`;
  results.push(perAgent);
  const facts = await readCodexConfigFacts(operatorHome);
  if (facts.credentialsStore === "keyring" || facts.credentialsStore === "auto") {
    results.push({
      name: "per-agent CODEX_HOME",
      status: "warn",
      detail:
        `cli_auth_credentials_store is "${facts.credentialsStore}": codex keys keyring entries by ` +
        "the CODEX_HOME path, so per-agent homes do not see the operator's keyring login",
      remedy:
        'set cli_auth_credentials_store = "file" in config.toml and log codex in again (the auth ' +
        "line says how)",
    });
  }
  if ((await statOrUndefined(join(operatorHome, "auth.json"))) === undefined) {
    results.push({
      name: "per-agent CODEX_HOME",
      status: "warn",
      detail: `${join(operatorHome, "auth.json")} does not exist; agents link to it`,
      remedy:
        "fine for API keys from the environment and endpoints; otherwise log codex in (the auth " +
        "line says how)",
    });
  }
  return results;
}

/** go-plugin's socket directory and the per-agent MCP socket directory. */
export async function socketChecks(
  config: ResolvedConfig,
  env: NodeJS.ProcessEnv,
): Promise<CheckResult[]> {
  const configured = env["PLUGIN_UNIX_SOCKET_DIR"];
  const pluginDir = configured !== undefined && configured !== "" ? configured : tmpdir();
  const plugin = await writableCheck("plugin socket dir", pluginDir, { mustExist: true });
  if (plugin.status === "fail") {
    plugin.status = "warn";
    plugin.remedy =
      "the plugin falls back to TCP on 127.0.0.1; set PLUGIN_UNIX_SOCKET_DIR to a writable directory";
  }
  plugin.detail = `${configured === undefined || configured === "" ? "(the temp dir) " : "(PLUGIN_UNIX_SOCKET_DIR) "}${plugin.detail}`;
  const results = [plugin];
  try {
    const socket = agentSocketPath("doctor-probe", {
      stateDir: config.stateDir,
      socketDir: config.mcpHost.socketDir,
    });
    const check = await writableCheck("host tool socket dir", dirname(socket));
    check.detail = `${check.detail}; socket paths fit the ${MAX_SOCKET_PATH_BYTES}-byte limit (e.g. ${socket})`;
    results.push(check);
  } catch (error) {
    results.push({
      name: "host tool socket dir",
      status: "fail",
      detail: error instanceof Error ? error.message : String(error),
      remedy: "set mcp_host.socket_dir to a short directory",
    });
  }
  return results;
}

export async function authStatusFor(
  config: ResolvedConfig,
  env: NodeJS.ProcessEnv,
): Promise<AuthStatus> {
  return detectAuth(config, env);
}

async function nearestExisting(path: string): Promise<string> {
  let current = path;
  for (;;) {
    if ((await statOrUndefined(current)) !== undefined) return current;
    const parent = dirname(current);
    if (parent === current) return current;
    current = parent;
  }
}

async function canWrite(path: string): Promise<boolean> {
  try {
    await access(path, constants.W_OK | constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

async function statOrUndefined(path: string) {
  try {
    return await stat(path);
  } catch {
    // Missing, or a dangling link: nothing usable there either way.
    return undefined;
  }
}

function describeFetchError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = (error as { cause?: unknown }).cause;
  const code =
    (cause as { code?: unknown } | undefined)?.code ?? (error as { code?: unknown }).code;
  const causeMessage = cause instanceof Error ? cause.message : undefined;
  return [causeMessage ?? error.message, typeof code === "string" ? code : undefined]
    .filter((part) => part !== undefined)
    .join(", ");
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === "" ? undefined : value;
}

function uid(): number | string {
  return process.getuid?.() ?? "?";
}
