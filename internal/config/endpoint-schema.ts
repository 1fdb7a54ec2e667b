// Config blocks for where codex sends model requests and with which credentials: a custom
// OpenAI-compatible `endpoint`, the built-in provider's `openai` settings, and per-agent CODEX_HOME.
// Secrets are never config values: only the names of environment variables that hold them.
import { z } from "zod";

import { MAX_NAME_CHARS, MAX_TEXT_CHARS } from "./limits.js";

/** The only wire API codex 0.169.0 accepts; `wire_api = "chat"` is a hard config error there. */
export const WIRE_APIS = ["responses"] as const;
export type WireApi = (typeof WIRE_APIS)[number];

/** The model_providers id the plugin registers for the endpoint. */
export const DEFAULT_ENDPOINT_PROVIDER_ID = "plexum_endpoint";

/** codex caps both retry counts at 100. */
export const MAX_CODEX_RETRIES = 100;

// Environment variable names as POSIX shells accept them.
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
// Header and query parameter names become one segment of a dotted `-c` key, which codex splits on
// "."; they also have to be valid HTTP tokens. The intersection is letters, digits, - and _.
const HEADER_NAME = /^[A-Za-z0-9_-]+$/;
const PROVIDER_ID = /^[A-Za-z0-9_-]+$/;

const atMost = (max: number) => `must be at most ${max} characters`;
const name = z.string().max(MAX_NAME_CHARS, atMost(MAX_NAME_CHARS));
const text = z.string().max(MAX_TEXT_CHARS, atMost(MAX_TEXT_CHARS));

const envName = name.regex(
  ENV_NAME,
  "must be an environment variable name ([A-Za-z_][A-Za-z0-9_]*)",
);

// Header values may not carry control characters: codex silently drops such a header (observed).
const headerValue = text.refine(
  (value) => !hasControlCharacter(value),
  "must not contain control characters",
);

const headerMap = z.record(
  name.regex(HEADER_NAME, "header names may only contain letters, digits, - and _"),
  headerValue,
);

const retries = z
  .number()
  .int("must be a whole number")
  .min(0, "must be 0 or more")
  .max(MAX_CODEX_RETRIES, `must be at most ${MAX_CODEX_RETRIES} (codex's cap)`);

const wireApi = z.string().refine((value) => (WIRE_APIS as readonly string[]).includes(value), {
  message:
    'must be "responses": codex 0.169.0 speaks only the Responses API (wire_api = "chat" was ' +
    "removed, see openai/codex discussion 7782)",
});

/** `endpoint`: a custom OpenAI-compatible Responses endpoint, wired as a codex model provider. */
export const endpointSchema = z.strictObject({
  // http(s) URL; codex appends /responses. Checked further in endpoint-config.ts.
  base_url: text.min(1, "must be a non-empty URL"),
  // The name of the variable that holds the API key in the plugin's environment. Unset: no
  // Authorization header (e.g. an unauthenticated vLLM on a tailnet).
  api_key_env: envName.optional(),
  wire_api: wireApi.optional(),
  // The codex --model value for turns whose model has no model_args entry (e.g. "qwen3-coder").
  model: name
    .min(1, "must be a non-empty model name")
    .refine((value) => !value.startsWith("-"), "must be a model name, not a flag")
    .optional(),
  provider_id: name.regex(PROVIDER_ID, "may only contain letters, digits, - and _").optional(),
  name: name.min(1).optional(),
  http_headers: headerMap.optional(),
  // Header name → the environment variable holding its value (a secret header such as api-key).
  env_http_headers: z
    .record(
      name.regex(HEADER_NAME, "header names may only contain letters, digits, - and _"),
      envName,
    )
    .optional(),
  query_params: z
    .record(
      name.regex(HEADER_NAME, "parameter names may only contain letters, digits, - and _"),
      // Any text: the plugin percent-encodes it (see provider-setup.ts).
      text,
    )
    .optional(),
  request_max_retries: retries.optional(),
  stream_max_retries: retries.optional(),
  stream_idle_timeout_seconds: z
    .number()
    .positive("must be greater than 0")
    .max(24 * 3600, "must be at most a day")
    .optional(),
});

/** `openai`: codex's built-in OpenAI provider in API-key mode. */
export const openaiSchema = z.strictObject({
  // The variable holding the key; passed to codex as CODEX_API_KEY (exec ignores OPENAI_API_KEY).
  api_key_env: envName.optional(),
  // codex's `openai_base_url`, e.g. a proxy in front of api.openai.com.
  base_url: text.min(1, "must be a non-empty URL").optional(),
});

/** True when `value` holds a C0 control character or DEL. */
export function hasControlCharacter(value: string): boolean {
  for (let index = 0; index < value.length; index += 1) {
    const code = value.charCodeAt(index);
    if (code < 0x20 || code === 0x7f) return true;
  }
  return false;
}

export type RawEndpoint = z.infer<typeof endpointSchema>;
export type RawOpenai = z.infer<typeof openaiSchema>;
