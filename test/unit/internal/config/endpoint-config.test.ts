import { describe, expect, it } from "vitest";

import { parseConfig } from "../../../../internal/config/load-config.js";
import { AppError } from "../../../../internal/core/app-error.js";

function errorOf(json: unknown, env: NodeJS.ProcessEnv = {}): AppError {
  try {
    parseConfig(json, { env, homeDir: "/home/op" });
  } catch (error) {
    if (error instanceof AppError) return error;
    throw error;
  }
  throw new Error("expected CONFIG_INVALID");
}

describe("config: endpoint, openai, per_agent_codex_home", () => {
  it("resolves a full endpoint block", () => {
    const { config, warnings } = parseConfig(
      {
        per_agent_codex_home: true,
        endpoint: {
          base_url: "https://lambda01.example.ts.net:30000/v1",
          api_key_env: "VLLM_KEY",
          wire_api: "responses",
          model: "qwen3-coder",
          provider_id: "lambda",
          name: "Lambda vLLM",
          http_headers: { "X-Team": "infra" },
          env_http_headers: { "api-key": "VLLM_KEY" },
          query_params: { "api-version": "2025-01-01" },
          request_max_retries: 1,
          stream_max_retries: 2,
          stream_idle_timeout_seconds: 60,
        },
      },
      { env: { VLLM_KEY: "k" }, homeDir: "/home/op" },
    );
    expect(warnings).toEqual([]);
    expect(config.perAgentCodexHome).toBe(true);
    expect(config.endpoint).toEqual({
      providerId: "lambda",
      name: "Lambda vLLM",
      baseUrl: "https://lambda01.example.ts.net:30000/v1",
      apiKeyEnv: "VLLM_KEY",
      wireApi: "responses",
      model: "qwen3-coder",
      httpHeaders: { "X-Team": "infra" },
      envHttpHeaders: { "api-key": "VLLM_KEY" },
      queryParams: { "api-version": "2025-01-01" },
      requestMaxRetries: 1,
      streamMaxRetries: 2,
      streamIdleTimeoutMs: 60_000,
    });
  });

  it("reports every bad endpoint field at once", () => {
    const error = errorOf({
      endpoint: {
        base_url: "https://user:secret@host/v1",
        api_key_env: "not a name",
        wire_api: "chat",
        http_headers: { "Bad.Header": "x", Good: "line\nbreak" },
        request_max_retries: 101,
        api_key: "sk-literal",
      },
      openai: { base_url: "not a url" },
    });
    expect(error.code).toBe("CONFIG_INVALID");
    expect([...error.fields].sort()).toEqual(
      [
        "endpoint.api_key",
        "endpoint.api_key_env",
        "endpoint.base_url",
        "endpoint.http_headers.Bad.Header",
        "endpoint.http_headers.Good",
        "endpoint.request_max_retries",
        "endpoint.wire_api",
        "openai.base_url",
      ].sort(),
    );
    expect(error.message).toContain("discussion 7782");
    expect(error.message).toContain("must not contain credentials");
    // The rejected literal key is never echoed back.
    expect(error.message).not.toContain("sk-literal");
  });

  it("warns about unset key variables and cleartext keys", () => {
    const { warnings } = parseConfig(
      {
        endpoint: { base_url: "http://10.0.0.5:8000/v1", api_key_env: "MISSING_KEY" },
        openai: { api_key_env: "ALSO_MISSING" },
      },
      { env: {}, homeDir: "/home/op" },
    );
    expect(warnings.map((warning) => warning.field).sort()).toEqual(
      ["endpoint.api_key_env", "endpoint.base_url", "openai", "openai.api_key_env"].sort(),
    );
  });

  it("accepts plain http to loopback without a warning", () => {
    const { warnings } = parseConfig(
      { endpoint: { base_url: "http://127.0.0.1:8000/v1", api_key_env: "K" } },
      { env: { K: "v" }, homeDir: "/home/op" },
    );
    expect(warnings).toEqual([]);
  });
});
