import { parse } from "smol-toml";
import { describe, expect, it } from "vitest";

import {
  mockProviderConfigOverrides,
  mockProviderOverrides,
} from "../../../../internal/mock-model/codex-provider-overrides.js";
import {
  renderConfigOverrides,
  toConfigArgs,
} from "../../../../internal/mock-model/config-override-args.js";

const URL_V1 = "http://127.0.0.1:4321/v1";

describe("mockProviderOverrides", () => {
  it("points codex at the mock and switches off the network features", () => {
    expect(mockProviderOverrides(URL_V1)).toEqual({
      model_provider: "plexum_mock",
      model_providers: {
        plexum_mock: {
          name: "Plexum mock Responses API",
          base_url: URL_V1,
          wire_api: "responses",
          supports_websockets: false,
          request_max_retries: 0,
          stream_max_retries: 0,
          stream_idle_timeout_ms: 30_000,
        },
      },
      analytics: { enabled: false },
      features: { plugins: false },
      check_for_update_on_startup: false,
    });
  });

  it("takes retry and idle settings", () => {
    const provider = mockProviderOverrides(URL_V1, {
      requestMaxRetries: 2,
      streamMaxRetries: 3,
      streamIdleTimeoutMs: 1_500,
    }).model_providers.plexum_mock;
    expect(provider).toMatchObject({
      request_max_retries: 2,
      stream_max_retries: 3,
      stream_idle_timeout_ms: 1_500,
    });
  });

  it("renders the flat -c list with TOML literals", () => {
    expect(mockProviderConfigOverrides(URL_V1)).toEqual([
      'model_provider="plexum_mock"',
      'model_providers.plexum_mock.name="Plexum mock Responses API"',
      `model_providers.plexum_mock.base_url="${URL_V1}"`,
      'model_providers.plexum_mock.wire_api="responses"',
      "model_providers.plexum_mock.supports_websockets=false",
      "model_providers.plexum_mock.request_max_retries=0",
      "model_providers.plexum_mock.stream_max_retries=0",
      "model_providers.plexum_mock.stream_idle_timeout_ms=30000",
      "analytics.enabled=false",
      "features.plugins=false",
      "check_for_update_on_startup=false",
    ]);
  });
});

describe("renderConfigOverrides", () => {
  it("produces lines that parse back to the same tree", () => {
    const tree = {
      a: { b: 'quote " backslash \\ newline \n unicode é', n: 1.5, list: ["x", 2, true] },
      top: -3,
    };
    const lines = renderConfigOverrides(tree);
    expect(lines).toHaveLength(4);
    const rebuilt = parse(lines.join("\n"));
    expect(rebuilt).toEqual(tree);
  });

  it("refuses keys that codex's dotted -c paths cannot address", () => {
    expect(() => renderConfigOverrides({ mcp_servers: { "a.b": { command: "x" } } })).toThrow(
      /not a bare TOML key/,
    );
  });

  it("interleaves -c flags", () => {
    expect(toConfigArgs(["a=1", "b=2"])).toEqual(["-c", "a=1", "-c", "b=2"]);
  });
});
