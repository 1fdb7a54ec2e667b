// The codex config that points codex 0.169.0 at the mock Responses server and keeps it offline.
// Verified with strace (docs/codex-0.169.0-observed.md): with these keys codex resolves no host
// names and opens no socket except the mock's.
import type { ConfigTree } from "./config-override-args.js";
import { renderConfigOverrides } from "./config-override-args.js";

/** The model_providers id the overrides register. */
export const MOCK_PROVIDER_ID = "plexum_mock";

/** Retry and timeout knobs of the mock provider entry. */
export interface MockProviderOptions {
  /** HTTP-level retries of one model request (codex default 4). */
  readonly requestMaxRetries?: number;
  /** Turn-level stream reconnects (codex default 5). */
  readonly streamMaxRetries?: number;
  /** Silence allowed on an open SSE stream (codex default 300000). */
  readonly streamIdleTimeoutMs?: number;
}

/** The nested override object; see mockProviderOverrides. */
export interface MockProviderOverrides extends ConfigTree {
  readonly model_provider: typeof MOCK_PROVIDER_ID;
  readonly model_providers: {
    readonly [MOCK_PROVIDER_ID]: {
      readonly name: string;
      readonly base_url: string;
      readonly wire_api: "responses";
      readonly supports_websockets: false;
      readonly request_max_retries: number;
      readonly stream_max_retries: number;
      readonly stream_idle_timeout_ms: number;
    };
  };
  readonly analytics: { readonly enabled: false };
  readonly features: { readonly plugins: false };
  readonly check_for_update_on_startup: false;
}

/** Defaults chosen so a broken script fails a test in seconds instead of retrying for minutes. */
export const MOCK_PROVIDER_DEFAULTS: Required<MockProviderOptions> = {
  requestMaxRetries: 0,
  streamMaxRetries: 0,
  streamIdleTimeoutMs: 30_000,
};

/**
 * Config overrides for `codex exec` that route every model request to `baseUrl` (the mock's
 * `url`, ending in /v1). No credentials are involved: a provider without env_key sends no
 * Authorization header, and CODEX_API_KEY is ignored for it.
 */
export function mockProviderOverrides(
  baseUrl: string,
  options: MockProviderOptions = {},
): MockProviderOverrides {
  const settings = { ...MOCK_PROVIDER_DEFAULTS, ...options };
  return {
    model_provider: MOCK_PROVIDER_ID,
    model_providers: {
      [MOCK_PROVIDER_ID]: {
        name: "Plexum mock Responses API",
        base_url: baseUrl,
        wire_api: "responses",
        // Custom providers default to false already; stated so no WebSocket upgrade is attempted.
        supports_websockets: false,
        request_max_retries: settings.requestMaxRetries,
        stream_max_retries: settings.streamMaxRetries,
        stream_idle_timeout_ms: settings.streamIdleTimeoutMs,
      },
    },
    // Without this codex exports OTLP metrics to https://ab.chatgpt.com/otlp/v1/metrics.
    analytics: { enabled: false },
    // Without this codex syncs the curated plugin marketplace at start-up: `git ls-remote
    // https://github.com/openai/plugins.git`, then api.github.com, then chatgpt.com.
    features: { plugins: false },
    // exec was not seen checking for updates; this keeps it so if that changes.
    check_for_update_on_startup: false,
  };
}

/** The same overrides as `key=value` strings (values rendered by smol-toml); pass each after `-c`. */
export function mockProviderConfigOverrides(
  baseUrl: string,
  options: MockProviderOptions = {},
): string[] {
  return renderConfigOverrides(mockProviderOverrides(baseUrl, options));
}
