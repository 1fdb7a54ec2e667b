import { parse as parseToml } from "smol-toml";
import { describe, expect, it } from "vitest";

import {
  CODEX_API_KEY_VARIABLE,
  encodeQuery,
  ENDPOINT_KEY_VARIABLE,
  planProvider,
  type ProviderSetup,
} from "../../../../internal/codex/provider-setup.js";
import { parseConfig } from "../../../../internal/config/load-config.js";

const KEY = `sk-"hostile'\\key=.[x]#y{z}$HOME`;

function configOf(json: Record<string, unknown>, env: NodeJS.ProcessEnv = {}) {
  return parseConfig(json, { env, homeDir: "/home/op" }).config;
}

function ok(result: ReturnType<typeof planProvider>): ProviderSetup {
  if (!result.ok) throw new Error(result.error.message);
  return result.value;
}

/** The -c assignments as codex would read them: one TOML document. */
function asToml(assignments: readonly string[]): Record<string, unknown> {
  const document: Record<string, unknown> = {};
  for (const assignment of assignments) {
    const equals = assignment.indexOf("=");
    const path = assignment.slice(0, equals).split(".");
    const value = parseToml(`v = ${assignment.slice(equals + 1)}`)["v"];
    let node = document;
    for (const key of path.slice(0, -1)) {
      node[key] ??= {};
      node = node[key] as Record<string, unknown>;
    }
    node[path.at(-1) ?? ""] = value;
  }
  return document;
}

describe("planProvider: a configured endpoint", () => {
  const env = { VLLM_KEY: KEY, PATH: "/bin" };
  const config = configOf(
    {
      endpoint: {
        base_url: "https://lambda01.example.ts.net:30000/v1",
        api_key_env: "VLLM_KEY",
        model: "qwen3-coder",
        http_headers: { "X-Team": `a"b\\c not-allowed` },
        query_params: { "api-version": 'q"\\\n#&=' },
        request_max_retries: 2,
        stream_max_retries: 1,
        stream_idle_timeout_seconds: 45,
      },
    },
    env,
  );

  it("registers a model provider whose TOML parses back to the configured values", () => {
    const setup = ok(planProvider(config, undefined, env, undefined));
    const toml = asToml(setup.overrides);
    expect(toml["model_provider"]).toBe("plexum_endpoint");
    expect(toml["model_providers"]).toEqual({
      plexum_endpoint: {
        name: "Plexum endpoint",
        base_url: "https://lambda01.example.ts.net:30000/v1",
        wire_api: "responses",
        env_key: ENDPOINT_KEY_VARIABLE,
        env_key_instructions: expect.any(String) as string,
        http_headers: { "X-Team": 'a"b\\c not-allowed' },
        // Percent-encoded: codex pastes query values into the URL as they are.
        query_params: { "api-version": encodeURIComponent('q"\\\n#&=') },
        request_max_retries: 2,
        stream_max_retries: 1,
        stream_idle_timeout_ms: 45_000,
      },
    });
    expect(setup.cliModel).toBe("qwen3-coder");
    expect(setup.usesDefaultProvider).toBe(false);
  });

  it("puts the key in the environment only, blanks it for the model's commands and scrubs it", () => {
    const setup = ok(planProvider(config, undefined, env, undefined));
    expect(setup.overrides.join("\n")).not.toContain("hostile");
    expect(setup.envSet).toEqual({ [ENDPOINT_KEY_VARIABLE]: KEY });
    expect(setup.envUnset).toEqual(["VLLM_KEY"]);
    expect(asToml(setup.overrides)["shell_environment_policy"]).toEqual({
      set: { [ENDPOINT_KEY_VARIABLE]: "" },
    });
    expect(setup.secrets).toEqual([KEY]);
  });

  it("refuses a turn when the key variable is missing, with an AUTH error", () => {
    const result = planProvider(config, undefined, {}, undefined);
    expect(result).toMatchObject({
      ok: false,
      error: { class: "auth", code: "AUTH_KEY_MISSING", retryable: false },
    });
  });

  it("lets the turn override key, model and headers, merged over the configured ones", () => {
    const setup = ok(
      planProvider(
        config,
        { apiKey: "sk-turn-key-1234", model: "other", httpHeaders: { "X-Turn": "1" } },
        env,
        undefined,
      ),
    );
    expect(setup.envSet[ENDPOINT_KEY_VARIABLE]).toBe("sk-turn-key-1234");
    expect(setup.keyFromTurn).toBe(true);
    expect(setup.cliModel).toBe("other");
    const provider = (asToml(setup.overrides)["model_providers"] as Record<string, unknown>)[
      "plexum_endpoint"
    ] as Record<string, unknown>;
    expect(provider["http_headers"]).toEqual({ "X-Team": 'a"b\\c not-allowed', "X-Turn": "1" });
  });

  it("never sends the configured key to another base URL", () => {
    const setup = ok(
      planProvider(config, { baseUrl: "https://elsewhere.example/v1" }, env, undefined),
    );
    const provider = (asToml(setup.overrides)["model_providers"] as Record<string, unknown>)[
      "plexum_endpoint"
    ] as Record<string, unknown>;
    expect(provider["base_url"]).toBe("https://elsewhere.example/v1");
    expect(provider["env_key"]).toBeUndefined();
    expect(setup.envSet).toEqual({});
    // The operator's variable is still withheld from codex.
    expect(setup.envUnset).toEqual(["VLLM_KEY"]);
    // The same URL spelled with a trailing slash is the same endpoint.
    const same = ok(
      planProvider(
        config,
        { baseUrl: "https://lambda01.example.ts.net:30000/v1/" },
        env,
        undefined,
      ),
    );
    expect(same.envSet[ENDPOINT_KEY_VARIABLE]).toBe(KEY);
  });

  it.each([
    [{ apiKey: "sk-line\nbreak" }, "printable ASCII"],
    [{ apiKey: "sk-with space" }, "printable ASCII"],
    [{ wireApi: "chat" }, 'speaks only "responses"'],
    [{ baseUrl: "ftp://x/v1" }, "http or https"],
    [{ baseUrl: "https://user:pw@x/v1" }, "must not contain credentials"],
    [{ httpHeaders: { "Bad.Name": "x" } }, "may only contain"],
    [{ httpHeaders: { Good: "new\nline" } }, "control characters"],
    [{ model: "--dangerous" }, "not a flag"],
  ])("rejects the override %j", (override, message) => {
    const result = planProvider(config, override, env, undefined);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.error).toMatchObject({ class: "precondition", code: "REQUEST_INVALID" });
      expect(result.error.message).toContain(message);
    }
  });
});

describe("planProvider: codex's built-in OpenAI provider", () => {
  it("passes openai.api_key_env on as CODEX_API_KEY and renders openai_base_url", () => {
    const env = { OPENAI_API_KEY: "sk-openai-1234" };
    const config = configOf(
      { openai: { api_key_env: "OPENAI_API_KEY", base_url: "https://proxy.example/v1" } },
      env,
    );
    const setup = ok(planProvider(config, undefined, env, "gpt-5.5"));
    expect(setup.usesDefaultProvider).toBe(true);
    expect(setup.envSet).toEqual({ [CODEX_API_KEY_VARIABLE]: "sk-openai-1234" });
    expect(setup.envUnset).toEqual(["OPENAI_API_KEY"]);
    expect(asToml(setup.overrides)).toEqual({
      openai_base_url: "https://proxy.example/v1",
      shell_environment_policy: { set: { CODEX_API_KEY: "" } },
    });
    expect(setup.cliModel).toBe("gpt-5.5");
  });

  it("blanks an inherited CODEX_API_KEY for the model's commands and scrubs it", () => {
    const setup = ok(
      planProvider(configOf({}), undefined, { CODEX_API_KEY: "sk-env-5678" }, undefined),
    );
    expect(setup.overrides).toEqual(['shell_environment_policy.set.CODEX_API_KEY=""']);
    expect(setup.secrets).toEqual(["sk-env-5678"]);
    expect(setup.envSet).toEqual({});
  });

  it("uses a turn's key as CODEX_API_KEY", () => {
    const setup = ok(planProvider(configOf({}), { apiKey: "sk-turn-9999" }, {}, undefined));
    expect(setup.envSet).toEqual({ [CODEX_API_KEY_VARIABLE]: "sk-turn-9999" });
    expect(setup.keyFromTurn).toBe(true);
  });

  it("refuses headers without an endpoint to attach them to", () => {
    const result = planProvider(configOf({}), { httpHeaders: { A: "b" } }, {}, undefined);
    expect(result.ok).toBe(false);
  });

  it("needs nothing when there is no key at all", () => {
    expect(ok(planProvider(configOf({}), undefined, {}, undefined)).overrides).toEqual([]);
  });
});

describe("encodeQuery", () => {
  it("percent-encodes every value so codex's raw URL pasting keeps it whole", () => {
    expect(encodeQuery({ a: "x y#z&w=\n" })).toEqual({ a: "x%20y%23z%26w%3D%0A" });
  });
});
