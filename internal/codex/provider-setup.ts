// Where one turn's model requests go and with which key: the configured `endpoint` or `openai`
// block, merged with the turn's EndpointOverride, turned into codex `-c` overrides (rendered by
// smol-toml through config-overrides.ts) and changes to codex's environment.
//
// Keys never appear in argv: a custom provider gets `env_key = "PLEXUM_ENDPOINT_API_KEY"` and the
// key in that variable; the built-in provider reads CODEX_API_KEY. codex 0.169.0 hands its whole
// environment to the commands the model runs (observed: `env` printed PLEXUM_ENDPOINT_API_KEY and
// CODEX_API_KEY), so every key variable is also blanked for those commands with
// `shell_environment_policy.set.<VAR>=""`, one dotted key each, which adds to an operator's own
// policy instead of replacing it.
import { flattenConfigOverrides, renderTomlLiteral } from "../config/config-overrides.js";
import { checkBaseUrl } from "../config/endpoint-config.js";
import { hasControlCharacter, WIRE_APIS } from "../config/endpoint-schema.js";
import { quote, summariseProblems } from "../config/limits.js";
import type { ResolvedConfig } from "../config/load-config.js";
import { type StreamErrorCode, type TurnError, turnError } from "../core/turn-error.js";

/** A per-turn endpoint override (proto EndpointOverride); unset fields keep the configured ones. */
export interface EndpointOverride {
  baseUrl?: string;
  /** The key itself: it goes into codex's environment only. */
  apiKey?: string;
  wireApi?: string;
  httpHeaders?: Record<string, string>;
  queryParams?: Record<string, string>;
  /** The codex --model value, bypassing supported_models. */
  model?: string;
}

/** The variable a custom provider's key travels in (its env_key). */
export const ENDPOINT_KEY_VARIABLE = "PLEXUM_ENDPOINT_API_KEY";
/** The variable codex exec reads for the built-in OpenAI provider. */
export const CODEX_API_KEY_VARIABLE = "CODEX_API_KEY";

const NAME = /^[A-Za-z0-9_-]+$/;

/** What a turn's provider choice adds to the codex run. */
export interface ProviderSetup {
  /** `-c` assignments, placed after the config's own overrides and before the turn's. */
  overrides: string[];
  /** Variables to set in codex's environment. */
  envSet: Record<string, string>;
  /** Variables to remove from codex's environment (a key's source variable). */
  envUnset: string[];
  /** Secret values to scrub from every event and log line of the turn. */
  secrets: string[];
  /** The codex --model value after the endpoint's and the turn's model. */
  cliModel: string | undefined;
  /** True when codex's own provider choice applies (built-in OpenAI unless overridden). */
  usesDefaultProvider: boolean;
  /** True when the turn itself supplied the key. */
  keyFromTurn: boolean;
  /** For logs: where requests go, never a key. */
  description: string;
}

export type ProviderSetupResult =
  { ok: true; value: ProviderSetup } | { ok: false; error: TurnError };

type SetupConfig = Pick<ResolvedConfig, "endpoint" | "openai">;

/** Merges config and turn override into one provider setup, or explains what is wrong. */
export function planProvider(
  config: SetupConfig,
  override: EndpointOverride | undefined,
  env: NodeJS.ProcessEnv,
  cliModel: string | undefined,
): ProviderSetupResult {
  const problem = checkOverride(override);
  if (problem !== undefined) return invalid(problem);

  const turnBase = nonEmpty(override?.baseUrl);
  const turnKey = nonEmpty(override?.apiKey);
  const setup: ProviderSetup = {
    overrides: [],
    envSet: {},
    envUnset: [],
    secrets: [],
    cliModel: nonEmpty(override?.model) ?? cliModel,
    usesDefaultProvider: false,
    keyFromTurn: turnKey !== undefined,
    description: "",
  };
  const configured = config.endpoint;

  if (turnBase === undefined && configured === undefined) {
    if (hasEntries(override?.httpHeaders) || hasEntries(override?.queryParams)) {
      return invalid(
        "endpoint.http_headers and endpoint.query_params need an endpoint: give endpoint.base_url " +
          "or configure `endpoint` (codex's built-in OpenAI provider cannot take extra headers)",
      );
    }
    setup.usesDefaultProvider = true;
    setup.description = "codex's configured provider";
    if (config.openai.baseUrl !== undefined) {
      setup.overrides.push(assignment("openai_base_url", config.openai.baseUrl));
      setup.description = `OpenAI at ${config.openai.baseUrl}`;
    }
    const keyEnv = config.openai.apiKeyEnv;
    if (turnKey !== undefined) {
      setup.envSet[CODEX_API_KEY_VARIABLE] = turnKey;
    } else if (keyEnv !== undefined) {
      const value = nonEmpty(env[keyEnv]);
      if (value === undefined) {
        return auth(
          "AUTH_KEY_MISSING",
          `${keyEnv} (openai.api_key_env) is not set in the plugin's environment; set it where the ` +
            "daemon starts the plugin",
        );
      }
      setup.envSet[CODEX_API_KEY_VARIABLE] = value;
      if (keyEnv !== CODEX_API_KEY_VARIABLE) setup.envUnset.push(keyEnv);
    }
    maskKeys(setup, env, []);
    return { ok: true, value: setup };
  }

  // A custom provider: the configured endpoint, possibly redirected or re-keyed by the turn.
  const baseUrl = turnBase ?? configured?.baseUrl ?? "";
  // The configured key (and secret headers) go to the configured endpoint only.
  const sameEndpoint =
    configured !== undefined && (turnBase === undefined || sameUrl(turnBase, configured.baseUrl));
  let key = turnKey;
  if (key === undefined && sameEndpoint && configured?.apiKeyEnv !== undefined) {
    key = nonEmpty(env[configured.apiKeyEnv]);
    if (key === undefined) {
      return auth(
        "AUTH_KEY_MISSING",
        `${configured.apiKeyEnv} (endpoint.api_key_env) is not set in the plugin's environment; ` +
          "set it where the daemon starts the plugin",
      );
    }
  }
  if (configured?.apiKeyEnv !== undefined && configured.apiKeyEnv !== ENDPOINT_KEY_VARIABLE) {
    setup.envUnset.push(configured.apiKeyEnv);
  }
  if (setup.cliModel === undefined && configured?.model !== undefined) {
    setup.cliModel = configured.model;
  }
  const providerId = configured?.providerId ?? "plexum_endpoint";
  const table: Record<string, unknown> = {
    name: configured?.name ?? "Plexum endpoint",
    base_url: baseUrl,
    wire_api: nonEmpty(override?.wireApi) ?? configured?.wireApi ?? "responses",
  };
  if (key !== undefined) {
    table["env_key"] = ENDPOINT_KEY_VARIABLE;
    table["env_key_instructions"] =
      "The plexum-openai-provider plugin sets it from endpoint.api_key_env or the turn's key.";
    setup.envSet[ENDPOINT_KEY_VARIABLE] = key;
  }
  const headers = { ...configured?.httpHeaders, ...override?.httpHeaders };
  if (hasEntries(headers)) table["http_headers"] = headers;
  let secretHeaderVars: string[] = [];
  if (sameEndpoint && hasEntries(configured?.envHttpHeaders)) {
    table["env_http_headers"] = { ...configured?.envHttpHeaders };
    secretHeaderVars = Object.values(configured?.envHttpHeaders ?? {});
  }
  const params = { ...configured?.queryParams, ...override?.queryParams };
  if (hasEntries(params)) table["query_params"] = encodeQuery(params);
  if (configured?.requestMaxRetries !== undefined) {
    table["request_max_retries"] = configured.requestMaxRetries;
  }
  if (configured?.streamMaxRetries !== undefined) {
    table["stream_max_retries"] = configured.streamMaxRetries;
  }
  if (configured?.streamIdleTimeoutMs !== undefined) {
    table["stream_idle_timeout_ms"] = configured.streamIdleTimeoutMs;
  }

  const flattened = flattenConfigOverrides(
    { model_provider: providerId, model_providers: { [providerId]: table } },
    "endpoint",
  );
  if (flattened.errors.length > 0) {
    return invalid(summariseProblems(flattened.errors.map(toProblem)).detail);
  }
  // concat, not push(...): one argument per header would be one stack slot each.
  setup.overrides = setup.overrides.concat(flattened.assignments);
  setup.description = `${providerId} at ${baseUrl}${key === undefined ? " (no API key)" : ""}`;
  maskKeys(setup, env, secretHeaderVars);
  return { ok: true, value: setup };
}

// Blanks every key variable codex will have for the commands the model runs, and records the
// values for scrubbing.
function maskKeys(setup: ProviderSetup, env: NodeJS.ProcessEnv, extraVars: string[]): void {
  const finalValue = (name: string): string | undefined =>
    setup.envUnset.includes(name) ? undefined : nonEmpty(setup.envSet[name] ?? env[name]);
  const names = [CODEX_API_KEY_VARIABLE, ENDPOINT_KEY_VARIABLE, ...extraVars];
  for (const name of [...new Set(names)]) {
    const value = finalValue(name);
    if (value === undefined) continue;
    setup.overrides.push(assignment(`shell_environment_policy.set.${name}`, ""));
    setup.secrets.push(value);
  }
}

function checkOverride(override: EndpointOverride | undefined): string | undefined {
  if (override === undefined) return undefined;
  const baseUrl = nonEmpty(override.baseUrl);
  if (baseUrl !== undefined) {
    const problem = checkBaseUrl(baseUrl);
    if (problem !== undefined) return `endpoint.base_url ${problem}`;
  }
  const apiKey = override.apiKey;
  if (apiKey !== undefined && apiKey !== "" && !/^[\x21-\x7e]+$/.test(apiKey)) {
    // codex silently drops an Authorization header it cannot encode (observed with a newline):
    // the request would then go out unauthenticated.
    return "endpoint.api_key may only contain printable ASCII characters without spaces";
  }
  const wireApi = nonEmpty(override.wireApi);
  if (wireApi !== undefined && !(WIRE_APIS as readonly string[]).includes(wireApi)) {
    return `endpoint.wire_api ${quote(wireApi)} is not supported: codex 0.169.0 speaks only "responses"`;
  }
  for (const [kind, map] of [
    ["http_headers", override.httpHeaders],
    ["query_params", override.queryParams],
  ] as const) {
    for (const [name, value] of Object.entries(map ?? {})) {
      if (!NAME.test(name)) {
        return `endpoint.${kind} name ${quote(name)} may only contain letters, digits, - and _`;
      }
      if (kind === "http_headers" && hasControlCharacter(value)) {
        return `endpoint.http_headers.${name} must not contain control characters`;
      }
    }
  }
  const model = nonEmpty(override.model);
  if (model !== undefined && model.startsWith("-")) {
    return "endpoint.model must be a model name, not a flag";
  }
  return undefined;
}

/**
 * codex 0.169.0 pastes query_params into the URL as `?name=value` without encoding them, and its
 * URL parser then ends the query at "#" and deletes newlines (observed against the mock). So the
 * values are percent-encoded here, and the endpoint receives exactly the configured text.
 */
export function encodeQuery(params: Readonly<Record<string, string>>): Record<string, string> {
  const encoded: Record<string, string> = {};
  for (const [name, value] of Object.entries(params)) encoded[name] = encodeURIComponent(value);
  return encoded;
}

function assignment(key: string, value: string): string {
  const rendered = renderTomlLiteral(value);
  // A string always renders; this guards the type, not a reachable case.
  if (!rendered.ok) throw new Error(`cannot render ${key}: ${rendered.message}`);
  return `${key}=${rendered.literal}`;
}

function sameUrl(a: string, b: string): boolean {
  const normalise = (value: string): string => {
    try {
      return new URL(value).href.replace(/\/+$/, "");
    } catch {
      return value;
    }
  };
  return normalise(a) === normalise(b);
}

function hasEntries(map: Readonly<Record<string, unknown>> | undefined): boolean {
  return map !== undefined && Object.keys(map).length > 0;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === "" ? undefined : value;
}

function toProblem(issue: { path: string; message: string }) {
  return { field: issue.path, message: issue.message };
}

function invalid(message: string): ProviderSetupResult {
  return { ok: false, error: turnError("REQUEST_INVALID", message) };
}

function auth(code: StreamErrorCode, message: string): ProviderSetupResult {
  return { ok: false, error: turnError(code, message) };
}
