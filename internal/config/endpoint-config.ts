// Resolves and cross-checks the `endpoint`, `openai` and `per_agent_codex_home` config keys.
import {
  DEFAULT_ENDPOINT_PROVIDER_ID,
  type RawEndpoint,
  type RawOpenai,
  type WireApi,
} from "./endpoint-schema.js";

/** A custom OpenAI-compatible endpoint, as the runner wires it into codex. */
export interface ResolvedEndpoint {
  /** The model_providers id (default plexum_endpoint). */
  providerId: string;
  name: string;
  baseUrl: string;
  /** The variable holding the key in the plugin's environment; undefined sends no key. */
  apiKeyEnv: string | undefined;
  wireApi: WireApi;
  /** The codex --model value when the turn's model maps to codex's default. */
  model: string | undefined;
  httpHeaders: Readonly<Record<string, string>>;
  /** Header name → variable name in the plugin's environment. */
  envHttpHeaders: Readonly<Record<string, string>>;
  queryParams: Readonly<Record<string, string>>;
  requestMaxRetries: number | undefined;
  streamMaxRetries: number | undefined;
  streamIdleTimeoutMs: number | undefined;
}

/** The built-in OpenAI provider's settings. */
export interface ResolvedOpenai {
  /** Read from the plugin's environment and given to codex as CODEX_API_KEY. */
  apiKeyEnv: string | undefined;
  /** Rendered as codex's `openai_base_url`. */
  baseUrl: string | undefined;
}

export interface EndpointIssue {
  field: string;
  message: string;
}

/** Why `value` is not a usable provider base URL, or undefined. */
export function checkBaseUrl(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return "must be an absolute http:// or https:// URL";
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    return `must use http or https, not ${url.protocol.replace(/:$/, "")}`;
  }
  // Credentials in the URL would end up in codex's argv and in its error messages.
  if (url.username !== "" || url.password !== "") {
    return "must not contain credentials; put the key in the variable named by api_key_env";
  }
  if (url.search !== "" || url.hash !== "") {
    return "must not contain a query or fragment; use query_params";
  }
  return undefined;
}

/** Cross-field errors and warnings of the endpoint blocks (the schema checks each field alone). */
export function checkEndpointConfig(
  endpoint: unknown,
  openai: unknown,
  env: NodeJS.ProcessEnv,
): { errors: EndpointIssue[]; warnings: EndpointIssue[] } {
  const errors: EndpointIssue[] = [];
  const warnings: EndpointIssue[] = [];
  if (isRecord(endpoint)) {
    const baseUrl = endpoint["base_url"];
    if (typeof baseUrl === "string" && baseUrl !== "") {
      const problem = checkBaseUrl(baseUrl);
      if (problem !== undefined) errors.push({ field: "endpoint.base_url", message: problem });
      else if (isCleartextRemote(baseUrl) && typeof endpoint["api_key_env"] === "string") {
        warnings.push({
          field: "endpoint.base_url",
          message: "is plain http to a non-loopback host; the API key travels unencrypted",
        });
      }
    }
    const keyEnv = endpoint["api_key_env"];
    if (typeof keyEnv === "string" && !isSet(env[keyEnv])) {
      warnings.push({
        field: "endpoint.api_key_env",
        message: `${keyEnv} is not set in the plugin's environment; turns will fail with an AUTH error until it is`,
      });
    }
    const envHeaders = endpoint["env_http_headers"];
    if (isRecord(envHeaders)) {
      for (const [header, name] of Object.entries(envHeaders)) {
        if (typeof name === "string" && !isSet(env[name])) {
          warnings.push({
            field: `endpoint.env_http_headers.${header}`,
            message: `${name} is not set in the plugin's environment; codex will not send the header`,
          });
        }
      }
    }
  }
  if (isRecord(openai)) {
    const baseUrl = openai["base_url"];
    if (typeof baseUrl === "string" && baseUrl !== "") {
      const problem = checkBaseUrl(baseUrl);
      if (problem !== undefined) errors.push({ field: "openai.base_url", message: problem });
    }
    const keyEnv = openai["api_key_env"];
    if (typeof keyEnv === "string" && !isSet(env[keyEnv])) {
      warnings.push({
        field: "openai.api_key_env",
        message: `${keyEnv} is not set in the plugin's environment`,
      });
    }
    if (isRecord(endpoint)) {
      warnings.push({
        field: "openai",
        message: "is unused while `endpoint` is set: turns go to the endpoint",
      });
    }
  }
  return { errors, warnings };
}

export function resolveEndpoint(raw: RawEndpoint | undefined): ResolvedEndpoint | undefined {
  if (raw === undefined) return undefined;
  return {
    providerId: raw.provider_id ?? DEFAULT_ENDPOINT_PROVIDER_ID,
    name: raw.name ?? "Plexum endpoint",
    baseUrl: raw.base_url,
    apiKeyEnv: raw.api_key_env,
    wireApi: (raw.wire_api ?? "responses") as WireApi,
    model: raw.model,
    httpHeaders: { ...raw.http_headers },
    envHttpHeaders: { ...raw.env_http_headers },
    queryParams: { ...raw.query_params },
    requestMaxRetries: raw.request_max_retries,
    streamMaxRetries: raw.stream_max_retries,
    streamIdleTimeoutMs:
      raw.stream_idle_timeout_seconds === undefined
        ? undefined
        : Math.round(raw.stream_idle_timeout_seconds * 1000),
  };
}

export function resolveOpenai(raw: RawOpenai | undefined): ResolvedOpenai {
  return { apiKeyEnv: raw?.api_key_env, baseUrl: raw?.base_url };
}

function isCleartextRemote(value: string): boolean {
  const url = new URL(value);
  if (url.protocol !== "http:") return false;
  const host = url.hostname.replace(/^\[|\]$/g, "");
  return !(host === "localhost" || host === "::1" || /^127\./.test(host));
}

function isSet(value: string | undefined): boolean {
  return value !== undefined && value !== "";
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
