// Which credentials codex 0.169.0 would use for a turn, worked out the way codex does, without
// running it. Facts it relies on (verified against the mock's Authorization header):
// - `codex exec` reads CODEX_API_KEY and prefers it to auth.json; it ignores OPENAI_API_KEY.
// - A custom model provider sends `Authorization: Bearer $<env_key>`, or no header without env_key.
// - With the built-in provider and no credentials codex sends requests without Authorization; the
//   real API then answers 401 after retries, so "not logged in" is caught here instead.
import { readFile } from "node:fs/promises";
import { join } from "node:path";

import { parse as parseToml } from "smol-toml";

import type { ResolvedConfig } from "../config/load-config.js";
import { effectiveCodexHome } from "./codex-home.js";

export type AuthMode = "chatgpt" | "api_key" | "endpoint" | "none";

export interface AuthStatus {
  mode: AuthMode;
  /** False when a turn would fail for lack of credentials. */
  ready: boolean;
  /** Where the credentials come from, or the remedy. Never a secret. */
  detail: string;
}

/**
 * The remedy for a codex that has no credentials, in one sentence per way out. `codex` here is the
 * codex the plugin runs (config `binary`): an installed plugin has none of its own on PATH.
 */
export function notLoggedInRemedy(codexHome: string): string {
  return (
    "log codex in as the daemon's user, with the codex the plugin runs (config `binary`) as " +
    `\`codex\`: \`CODEX_HOME=${codexHome} codex login --device-auth\` (ChatGPT) or ` +
    `\`printenv OPENAI_API_KEY | CODEX_HOME=${codexHome} codex login --with-api-key\`; or set ` +
    "CODEX_API_KEY (or openai.api_key_env) in the plugin's environment, or configure `endpoint`"
  );
}

type AuthConfig = Pick<ResolvedConfig, "endpoint" | "openai" | "codexHome" | "configOverrides">;

/** What the operator's config.toml says about providers and credential storage. */
export interface CodexConfigFacts {
  modelProvider: string | undefined;
  credentialsStore: string | undefined;
  /** Set when config.toml exists but cannot be parsed. */
  problem?: string;
}

/** Reads model_provider (also through `profile`) and cli_auth_credentials_store from config.toml. */
export async function readCodexConfigFacts(codexHome: string): Promise<CodexConfigFacts> {
  let text: string;
  try {
    text = await readFile(join(codexHome, "config.toml"), "utf8");
  } catch {
    return { modelProvider: undefined, credentialsStore: undefined };
  }
  let document: Record<string, unknown>;
  try {
    document = parseToml(text);
  } catch (error) {
    return {
      modelProvider: undefined,
      credentialsStore: undefined,
      problem: `${join(codexHome, "config.toml")} is not valid TOML (${firstLine(error)})`,
    };
  }
  const profileName = stringAt(document, ["profile"]);
  const fromProfile =
    profileName === undefined
      ? undefined
      : stringAt(document, ["profiles", profileName, "model_provider"]);
  return {
    modelProvider: fromProfile ?? stringAt(document, ["model_provider"]),
    credentialsStore: stringAt(document, ["cli_auth_credentials_store"]),
  };
}

/** The value of the last `key=<TOML literal>` assignment for `key`, if it is a string. */
export function overrideString(assignments: readonly string[], key: string): string | undefined {
  let found: string | undefined;
  for (const assignment of assignments) {
    const equals = assignment.indexOf("=");
    if (equals < 0 || assignment.slice(0, equals).trim() !== key) continue;
    try {
      const value = parseToml(`v = ${assignment.slice(equals + 1)}`)["v"];
      found = typeof value === "string" ? value : undefined;
    } catch {
      found = undefined;
    }
  }
  return found;
}

/**
 * The credentials a turn without a per-turn endpoint override would use. `extraOverrides` are the
 * turn's own `-c` assignments, which win over the config's.
 */
export async function detectAuth(
  config: AuthConfig,
  env: NodeJS.ProcessEnv,
  extraOverrides: readonly string[] = [],
): Promise<AuthStatus> {
  const endpoint = config.endpoint;
  if (endpoint !== undefined) {
    if (endpoint.apiKeyEnv === undefined) {
      return {
        mode: "endpoint",
        ready: true,
        detail: `endpoint ${endpoint.baseUrl} without an API key (endpoint.api_key_env is not set)`,
      };
    }
    const ready = isSet(env[endpoint.apiKeyEnv]);
    return {
      mode: "endpoint",
      ready,
      detail: ready
        ? `endpoint ${endpoint.baseUrl}, API key from $${endpoint.apiKeyEnv}`
        : `endpoint ${endpoint.baseUrl}: ${endpoint.apiKeyEnv} (endpoint.api_key_env) is not set ` +
          "in the plugin's environment; set it where the daemon starts the plugin",
    };
  }

  const codexHome = effectiveCodexHome(config.codexHome, env);
  const facts = await readCodexConfigFacts(codexHome);
  const overridden = overrideString(
    [...config.configOverrides, ...extraOverrides],
    "model_provider",
  );
  const provider = overridden ?? facts.modelProvider;
  if (provider !== undefined && provider !== "openai") {
    const where = overridden === undefined ? `${codexHome}/config.toml` : "config_overrides";
    return {
      mode: "endpoint",
      ready: true,
      detail: `model provider "${provider}" from ${where}; its credentials are codex's business (env_key)`,
    };
  }

  const keyEnv = config.openai.apiKeyEnv;
  if (keyEnv !== undefined) {
    const ready = isSet(env[keyEnv]);
    return {
      mode: "api_key",
      ready,
      detail: ready
        ? `API key from $${keyEnv} (openai.api_key_env), given to codex as CODEX_API_KEY`
        : `${keyEnv} (openai.api_key_env) is not set in the plugin's environment; set it where ` +
          "the daemon starts the plugin",
    };
  }

  const authFile = join(codexHome, "auth.json");
  const stored = await readAuthJson(authFile);
  if (isSet(env["CODEX_API_KEY"])) {
    const shadowed =
      stored.kind === "chatgpt"
        ? `; it takes precedence over the ChatGPT login in ${authFile}`
        : "";
    return {
      mode: "api_key",
      ready: true,
      detail: `CODEX_API_KEY from the plugin's environment${shadowed}`,
    };
  }
  switch (stored.kind) {
    case "chatgpt":
      return {
        mode: "chatgpt",
        ready: true,
        detail: `ChatGPT login in ${authFile}${stored.account === undefined ? "" : ` (${stored.account})`}`,
      };
    case "api_key":
      return {
        mode: "api_key",
        ready: true,
        detail: `API key stored by \`codex login --with-api-key\` in ${authFile}`,
      };
    case "invalid":
      return {
        mode: "none",
        ready: false,
        detail: `${authFile} is unusable (${stored.reason}); ${notLoggedInRemedy(codexHome)}`,
      };
    case "missing":
      break;
  }
  if (facts.credentialsStore === "keyring" || facts.credentialsStore === "auto") {
    return {
      mode: "none",
      ready: true,
      detail:
        `no auth.json in ${codexHome}; cli_auth_credentials_store is "${facts.credentialsStore}", ` +
        "so credentials may be in the OS keyring, which the plugin cannot check",
    };
  }
  const ignored = isSet(env["OPENAI_API_KEY"])
    ? "OPENAI_API_KEY is set, but `codex exec` ignores it (set openai.api_key_env: " +
      '"OPENAI_API_KEY" to pass it on); '
    : "";
  return {
    mode: "none",
    ready: false,
    detail: `codex is not logged in (no ${authFile}): ${ignored}${notLoggedInRemedy(codexHome)}`,
  };
}

type StoredAuth =
  | { kind: "missing" }
  | { kind: "chatgpt"; account?: string }
  | { kind: "api_key" }
  | { kind: "invalid"; reason: string };

/** Classifies auth.json without returning any secret from it. */
export async function readAuthJson(path: string): Promise<StoredAuth> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === "ENOENT") return { kind: "missing" };
    return { kind: "invalid", reason: `cannot be read: ${String(code ?? error)}` };
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { kind: "invalid", reason: "not valid JSON" };
  }
  if (typeof value !== "object" || value === null)
    return { kind: "invalid", reason: "not an object" };
  const auth = value as Record<string, unknown>;
  const mode = typeof auth["auth_mode"] === "string" ? auth["auth_mode"].toLowerCase() : undefined;
  const hasKey = isSet(typeof auth["OPENAI_API_KEY"] === "string" ? auth["OPENAI_API_KEY"] : "");
  const tokens = auth["tokens"];
  const hasTokens = typeof tokens === "object" && tokens !== null;
  if (mode === "apikey" || (mode === undefined && hasKey && !hasTokens)) {
    return hasKey
      ? { kind: "api_key" }
      : { kind: "invalid", reason: "auth_mode apikey without a key" };
  }
  if (hasTokens || (mode !== undefined && mode.startsWith("chatgpt"))) {
    const account = hasTokens ? (tokens as Record<string, unknown>)["account_id"] : undefined;
    return typeof account === "string" && account !== ""
      ? { kind: "chatgpt", account: `account ${account}` }
      : { kind: "chatgpt" };
  }
  if (mode !== undefined) return { kind: "chatgpt", account: `auth_mode ${mode}` };
  return { kind: "invalid", reason: "holds neither tokens nor an API key" };
}

function stringAt(document: Record<string, unknown>, path: readonly string[]): string | undefined {
  let node: unknown = document;
  for (const key of path) {
    if (typeof node !== "object" || node === null || Array.isArray(node)) return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return typeof node === "string" ? node : undefined;
}

function isSet(value: string | undefined): boolean {
  return value !== undefined && value !== "";
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split("\n")[0] ?? "";
}
