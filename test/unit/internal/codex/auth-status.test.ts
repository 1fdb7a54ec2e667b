import { writeFile } from "node:fs/promises";
import { join } from "node:path";

import { afterEach, beforeEach, describe, expect, it } from "vitest";

import {
  detectAuth,
  overrideString,
  readAuthJson,
} from "../../../../internal/codex/auth-status.js";
import { parseConfig } from "../../../../internal/config/load-config.js";
import { createTempDirs } from "../../../helpers/temp-dirs.js";

describe("detectAuth", () => {
  const temp = createTempDirs();
  let home: string;

  beforeEach(async () => {
    home = await temp.make("auth-home");
  });
  afterEach(() => temp.removeAll());

  const configOf = (json: Record<string, unknown>, env: NodeJS.ProcessEnv = {}) =>
    parseConfig({ codex_home: home, ...json }, { env, homeDir: "/home/op" }).config;

  it("reports not logged in, with the remedy and a hint about OPENAI_API_KEY", async () => {
    const env = { OPENAI_API_KEY: "sk-ignored-by-exec" };
    const status = await detectAuth(configOf({}, env), env);
    expect(status).toMatchObject({ mode: "none", ready: false });
    expect(status.detail).toContain("codex login");
    expect(status.detail).toContain("`codex exec` ignores it");
    expect(status.detail).not.toContain("sk-ignored-by-exec");
  });

  it("recognises a ChatGPT login and an API key login in auth.json", async () => {
    await writeFile(
      join(home, "auth.json"),
      JSON.stringify({
        auth_mode: "chatgpt",
        OPENAI_API_KEY: null,
        tokens: { id_token: "x", access_token: "secret-token", account_id: "acct-1" },
      }),
    );
    const chatgpt = await detectAuth(configOf({}), {});
    expect(chatgpt).toMatchObject({ mode: "chatgpt", ready: true });
    expect(chatgpt.detail).not.toContain("secret-token");

    await writeFile(
      join(home, "auth.json"),
      JSON.stringify({ auth_mode: "apikey", OPENAI_API_KEY: "sk-stored" }),
    );
    const apiKey = await detectAuth(configOf({}), {});
    expect(apiKey).toMatchObject({ mode: "api_key", ready: true });
    expect(apiKey.detail).not.toContain("sk-stored");
  });

  it("prefers CODEX_API_KEY, as codex exec does, and says it shadows a ChatGPT login", async () => {
    await writeFile(join(home, "auth.json"), JSON.stringify({ tokens: { access_token: "t" } }));
    const status = await detectAuth(configOf({}), { CODEX_API_KEY: "sk-env" });
    expect(status).toMatchObject({ mode: "api_key", ready: true });
    expect(status.detail).toContain("takes precedence over the ChatGPT login");
  });

  it("reports an endpoint and whether its key variable is set", async () => {
    const json = { endpoint: { base_url: "http://127.0.0.1:9/v1", api_key_env: "EP_KEY" } };
    expect(await detectAuth(configOf(json), {})).toMatchObject({ mode: "endpoint", ready: false });
    expect(await detectAuth(configOf(json), { EP_KEY: "k" })).toMatchObject({
      mode: "endpoint",
      ready: true,
    });
  });

  it("treats a model_provider from config_overrides or config.toml as an endpoint", async () => {
    const overridden = await detectAuth(
      configOf({ config_overrides: { model_provider: "vllm" } }),
      {},
    );
    expect(overridden).toMatchObject({ mode: "endpoint", ready: true });
    await writeFile(
      join(home, "config.toml"),
      'profile = "local"\n[profiles.local]\nmodel_provider = "ollama"\n',
    );
    const fromProfile = await detectAuth(configOf({}), {});
    expect(fromProfile.detail).toContain('"ollama"');
  });

  it("cannot see a keyring login, and says so instead of failing", async () => {
    await writeFile(join(home, "config.toml"), 'cli_auth_credentials_store = "keyring"\n');
    const status = await detectAuth(configOf({}), {});
    expect(status).toMatchObject({ mode: "none", ready: true });
    expect(status.detail).toContain("keyring");
  });

  it("reports an unusable auth.json", async () => {
    await writeFile(join(home, "auth.json"), "{not json");
    expect(await detectAuth(configOf({}), {})).toMatchObject({ mode: "none", ready: false });
    expect(await readAuthJson(join(home, "auth.json"))).toEqual({
      kind: "invalid",
      reason: "not valid JSON",
    });
  });
});

describe("overrideString", () => {
  it("returns the last string assignment of a key", () => {
    expect(
      overrideString(['model_provider="a"', "other=1", 'model_provider="b"'], "model_provider"),
    ).toBe("b");
    expect(overrideString(["model_provider=3"], "model_provider")).toBeUndefined();
  });
});
