// Endpoints, credentials, typed errors and usage totals, end to end: the BUILT plugin through the
// real handshake, the real codex under test, and the mock Responses API scripting each failure.
import { execFile, spawnSync } from "node:child_process";
import { lstat, readdir, readFile, readlink, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { join } from "node:path";

import { type MessageInitShape, toJsonString } from "@bufbuild/protobuf";
import { afterEach, describe, expect, it } from "vitest";

import { missingFeaturesFor } from "../../internal/codex/codex-capabilities.js";
import { agentDirName } from "../../internal/core/agent-id.js";
import { mockProviderOverrides } from "../../internal/mock-model/codex-provider-overrides.js";
import type { RecordedRequest } from "../../internal/mock-model/recorded-request.js";
import {
  contextLengthExceeded,
  execCommand,
  httpError,
  rateLimited,
  respond,
  serverError,
  textReply,
  unauthorized,
} from "../../internal/mock-model/reply-builders.js";
import { lastInputItem, lastUserPrompt } from "../../internal/mock-model/request-input.js";
import { streamTurn } from "../../internal/provider/provider-client.js";
import { findRolloutFile } from "../../internal/rollout/rollout-locator.js";
import type { ProviderPlugin } from "../../src/gen/plexum/provider/v1/provider_pb.js";
import {
  ErrorClass,
  Message_Role,
  NoticeEvent_Kind,
  type StartTurnSchema,
  TurnEnd_Outcome,
  type TurnEvent,
  TurnEventSchema,
  type Usage,
} from "../../src/gen/plexum/provider/v1/provider_pb.js";
import type { ServiceClient } from "../../src/plugin/grpc-client.js";
import { codexShows } from "../helpers/codex-behaviour.js";
import { findCodexBinary, requireCodexUnderTest } from "../helpers/codex-bin.js";
import { eventsOf, ON_APP_SERVER, PLUGIN_PATH, PluginHarness } from "../helpers/plugin-harness.js";

// Keeps codex offline apart from the mock (docs/codex-0.169.0-observed.md §0).
const OFFLINE = {
  analytics: { enabled: false },
  features: { plugins: false },
  check_for_update_on_startup: false,
};

// Printable ASCII only (codex drops an Authorization header it cannot encode), but everything TOML
// and shells care about: quotes, backslashes, =, ., #, brackets, braces, $.
const HOSTILE_KEY = `sk-e2e-"quo'te\\back\\\\slash$HOME=.[x]#y{z}`;
const HOSTILE_HEADER = `va"l\\ue 'single' = [toml] #not-a-comment`;
// codex pastes query values into the URL unencoded ("#" would start a fragment, a newline would be
// dropped), so the plugin percent-encodes them; this one arrives intact, newline included.
const HOSTILE_QUERY = `q"uo\\te\n'second' = [x] #y&z=%41`;

let harness: PluginHarness | undefined;
const extraPlugins: { close(): Promise<void> }[] = [];

afterEach(async () => {
  for (const plugin of extraPlugins.splice(0)) await plugin.close();
  await harness?.close();
  harness = undefined;
});

/** Configures the harness's plugin for its mock as a custom `endpoint`, plus `extra` keys. */
async function configureEndpoint(
  h: PluginHarness,
  endpoint: Record<string, unknown> = {},
  extra: Record<string, unknown> = {},
): Promise<Record<string, unknown>> {
  const config = {
    state_dir: h.stateDir,
    codex_home: h.codexHome,
    config_overrides: OFFLINE,
    endpoint: {
      base_url: h.server?.url,
      api_key_env: "E2E_ENDPOINT_KEY",
      request_max_retries: 0,
      stream_max_retries: 0,
      stream_idle_timeout_seconds: 30,
      ...endpoint,
    },
    ...extra,
  };
  await h.configure(config);
  return config;
}

function eventJson(events: readonly TurnEvent[]): string[] {
  return events.map((event) => toJsonString(TurnEventSchema, event));
}

function responsesRequests(h: PluginHarness): RecordedRequest[] {
  return (h.server?.requests ?? []).filter(
    (request) => request.method === "POST" && request.path === "/v1/responses",
  );
}

function usageOf(usage: Usage | undefined) {
  return {
    input: Number(usage?.inputTokens ?? -1n),
    cached: Number(usage?.cachedInputTokens ?? -1n),
    output: Number(usage?.outputTokens ?? -1n),
    reasoning: Number(usage?.reasoningOutputTokens ?? -1n),
  };
}

async function parentOf(pid: string): Promise<number | undefined> {
  const stat = await readFile(`/proc/${pid}/stat`, "utf8");
  return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
}

// The codex process of this harness's workspace, as /proc shows it.
async function codexProcessOf(
  workspace: string,
  pluginPid?: number,
): Promise<{ pid: number; argv: string[] }> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    for (const entry of await readdir("/proc")) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const argv = (await readFile(`/proc/${entry}/cmdline`, "utf8")).split("\0");
        if (argv.includes("exec") && argv.includes("--json") && argv.includes(workspace)) {
          return { pid: Number(entry), argv };
        }
        // The app-server backend's server: the plugin's `codex app-server` child.
        if (ON_APP_SERVER && argv[1] === "app-server" && (await parentOf(entry)) === pluginPid) {
          return { pid: Number(entry), argv };
        }
      } catch {
        // Gone while we looked.
      }
    }
    if (Date.now() > deadline) throw new Error("no codex process for the workspace");
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address !== null ? address.port : 0;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function codexLogin(codexHome: string, key: string): void {
  const codex = findCodexBinary();
  if (!codex.found) throw new Error(codex.reason);
  const run = spawnSync(codex.path, ["login", "--with-api-key"], {
    input: `${key}\n`,
    env: { ...process.env, CODEX_HOME: codexHome },
    encoding: "utf8",
    timeout: 20_000,
  });
  expect(run.status, run.stderr).toBe(0);
}

describe("custom endpoint: the key travels only in codex's environment", () => {
  it("sends Bearer <key> with TOML-hostile key, header and query values; argv, logs and events never hold the key", async () => {
    harness = await PluginHarness.start({
      skipConfigure: true,
      env: { E2E_ENDPOINT_KEY: HOSTILE_KEY },
      // The first reply waits, so the running codex can be inspected; it runs `env`, so a key
      // visible to the model's commands would show in the command's output.
      script: (_request, index) =>
        index === 0
          ? respond(execCommand("env | grep -e API_KEY -e E2E_ || true"), { delayMs: 2500 })
          : textReply("done"),
    });
    await configureEndpoint(harness, {
      http_headers: { "X-Hostile": HOSTILE_HEADER },
      query_params: { "api-version": HOSTILE_QUERY },
    });

    const info = await harness.client.getInfo({});
    expect(info.auth).toMatchObject({ mode: "endpoint", ready: true });
    expect(info.auth?.detail).toContain("$E2E_ENDPOINT_KEY");
    expect(info.auth?.detail).not.toContain(HOSTILE_KEY);

    const h = harness;
    const turn = h.turn({ agentId: "endpoint-agent", prompt: "show me your environment" });
    await h.server?.waitForResponsesRequests(1, 15_000);
    const codex = await codexProcessOf(h.workspace, h.plugin.process.pid);
    const environ = (await readFile(`/proc/${codex.pid}/environ`, "utf8")).split("\0");
    const { end, events } = await turn;

    expect(end.outcome, end.message).toBe(TurnEnd_Outcome.COMPLETED);
    // argv: the provider is there, the key is not.
    expect(codex.argv).toContain('model_provider="plexum_endpoint"');
    expect(codex.argv).toContain(
      'model_providers.plexum_endpoint.env_key="PLEXUM_ENDPOINT_API_KEY"',
    );
    expect(codex.argv.join("\n")).not.toContain(HOSTILE_KEY);
    expect(codex.argv.join("\n")).not.toContain("sk-e2e");
    // The environment: under the env_key name only; the operator's variable is not passed on.
    expect(environ).toContain(`PLEXUM_ENDPOINT_API_KEY=${HOSTILE_KEY}`);
    expect(environ.some((entry) => entry.startsWith("E2E_ENDPOINT_KEY="))).toBe(false);

    // The mock saw the key as a bearer token, and every hostile value intact.
    const requests = responsesRequests(h);
    expect(requests).toHaveLength(2);
    for (const request of requests) {
      expect(request.headers["authorization"]).toBe(`Bearer ${HOSTILE_KEY}`);
      expect(request.headers["x-hostile"]).toBe(HOSTILE_HEADER);
      expect(new URLSearchParams(request.query).get("api-version")).toBe(HOSTILE_QUERY);
    }
    // The model's command ran with the key variable blanked, so the model never saw the key.
    const commands = eventsOf(events, "tool").filter((tool) => tool.tool.case === "command");
    const output = commands.at(-1)?.tool.value as { aggregatedOutput: string } | undefined;
    expect(output?.aggregatedOutput).toContain("PLEXUM_ENDPOINT_API_KEY=\n");
    expect(requests[1]?.rawBody).toContain("PLEXUM_ENDPOINT_API_KEY=");
    expect(requests[1]?.rawBody).not.toContain("sk-e2e");

    for (const json of eventJson(events)) expect(json).not.toContain("sk-e2e");
    expect(h.stderrLines.length).toBeGreaterThan(0);
    for (const line of h.stderrLines) expect(line).not.toContain("sk-e2e");
  });

  it("takes endpoint, key and model per turn, and never sends the configured key elsewhere", async () => {
    const turnKey = `sk-turn-"x\\y'z=1`;
    harness = await PluginHarness.start({
      skipConfigure: true,
      env: { E2E_ENDPOINT_KEY: "sk-configured-key-0001", CODEX_API_KEY: "", OPENAI_API_KEY: "" },
      script: () => textReply("ok"),
    });
    // The configured endpoint points elsewhere (a closed port); the turn redirects to the mock.
    await configureEndpoint(harness, {
      base_url: `http://127.0.0.1:${await closedPort()}/v1`,
      model: "configured-model",
    });
    const url = harness.server?.url ?? "";
    const { end, events } = await harness.turn({
      agentId: "override-agent",
      prompt: "hello",
      options: {
        endpoint: {
          baseUrl: url,
          apiKey: turnKey,
          model: "qwen3-coder",
          httpHeaders: { "X-Turn": `t"u\\rn` },
        },
      },
    });
    expect(end.outcome, end.message).toBe(TurnEnd_Outcome.COMPLETED);
    const [request] = responsesRequests(harness);
    expect(request?.headers["authorization"]).toBe(`Bearer ${turnKey}`);
    expect(request?.headers["x-turn"]).toBe(`t"u\\rn`);
    expect(request?.body?.["model"]).toBe("qwen3-coder");
    for (const json of eventJson(events)) expect(json).not.toContain(turnKey);
    for (const line of harness.stderrLines) expect(line).not.toContain(turnKey);

    // Same base URL as configured? No: a different one without a turn key goes unauthenticated.
    const second = await harness.turn({
      agentId: "override-agent-2",
      prompt: "hello again",
      options: { endpoint: { baseUrl: url } },
    });
    expect(second.end.outcome, second.end.message).toBe(TurnEnd_Outcome.COMPLETED);
    expect(responsesRequests(harness)[1]?.headers["authorization"]).toBeUndefined();
    expect(responsesRequests(harness)[1]?.body?.["model"]).toBe("configured-model");

    // A key codex could not put in a header is refused before codex runs.
    const bad = await harness.turn({
      agentId: "override-agent-3",
      prompt: "hello",
      options: { endpoint: { baseUrl: url, apiKey: "sk-line\nbreak" } },
    });
    expect(bad.end.outcome).toBe(TurnEnd_Outcome.FAILED);
    expect(bad.end.error).toMatchObject({
      class: ErrorClass.PRECONDITION,
      code: "REQUEST_INVALID",
    });
    expect(responsesRequests(harness)).toHaveLength(2);
  });
});

describe("typed errors from codex against a failing endpoint", () => {
  const resetsAt = Math.floor(Date.now() / 1000) + 2 * 3600;
  const scenarios: Record<string, ReturnType<typeof rateLimited>> = {
    "rate-limit-no-retry-after": rateLimited(),
    "rate-limit-retry-after": rateLimited(1),
    "usage-limit": httpError(429, {
      error: {
        type: "usage_limit_reached",
        message: "The usage limit has been reached",
        plan_type: "plus",
        resets_at: resetsAt,
      },
    }),
    unauthorized: unauthorized(),
    "context-window": contextLengthExceeded(),
    "server-storm": serverError(),
  };

  it("classifies 429 ± Retry-After, usage limit, 401, context window and a 500 storm", async () => {
    harness = await PluginHarness.start({
      skipConfigure: true,
      env: { E2E_ENDPOINT_KEY: "sk-errors-key-0001" },
      script: (request) => {
        const reply = scenarios[lastUserPrompt(request) ?? ""];
        if (reply === undefined) throw new Error(`no scenario for ${lastUserPrompt(request)}`);
        return reply;
      },
    });
    // One HTTP retry and one stream retry: enough to see codex retry, and quick.
    await configureEndpoint(harness, { request_max_retries: 1, stream_max_retries: 1 });
    const h = harness;
    const run = async (name: string) => {
      const before = responsesRequests(h).length;
      const started = Date.now();
      const result = await h.turn({ agentId: `err-${name}`, prompt: name });
      const requests = responsesRequests(h).length - before;
      expect(result.end.outcome, `${name}: ${result.end.message}`).toBe(TurnEnd_Outcome.FAILED);
      const [error] = eventsOf(result.events, "error");
      expect(error).toEqual(result.end.error);
      return { ...result, error: result.end.error, requests, ms: Date.now() - started };
    };

    const noRetryAfter = await run("rate-limit-no-retry-after");
    expect(noRetryAfter.error).toMatchObject({
      class: ErrorClass.RATE_LIMITED,
      code: "CODEX_RATE_LIMITED",
      retryable: true,
    });
    expect(noRetryAfter.error?.message).toMatch(/^exceeded retry limit, last status: 429/);
    // codex discards the body and the header, so there is no retry-after to pass on.
    expect(noRetryAfter.error?.retryAfterSeconds).toBeUndefined();

    const withRetryAfter = await run("rate-limit-retry-after");
    expect(withRetryAfter.error).toMatchObject({ class: ErrorClass.RATE_LIMITED, retryable: true });
    if (codexShows("retries_rate_limits")) {
      // codex honoured Retry-After: 1 before its HTTP retry.
      expect(withRetryAfter.requests).toBeGreaterThan(noRetryAfter.requests);
      expect(withRetryAfter.ms).toBeGreaterThanOrEqual(1000);
    } else {
      // Older codex gives up on a 429 at once, Retry-After or not.
      expect([noRetryAfter.requests, withRetryAfter.requests]).toEqual([1, 1]);
    }

    const usage = await run("usage-limit");
    expect(usage.error).toMatchObject({
      class: ErrorClass.QUOTA_EXHAUSTED,
      code: "CODEX_QUOTA_EXHAUSTED",
      retryable: false,
    });
    expect(usage.requests).toBe(1);
    // codex prints the reset as local wall-clock minutes; the parsed time is that minute.
    const parsed = Number(usage.error?.resetsAt?.seconds ?? 0n);
    expect(parsed).toBeLessThanOrEqual(resetsAt);
    expect(parsed).toBeGreaterThan(resetsAt - 60);

    const auth = await run("unauthorized");
    expect(auth.error).toMatchObject({
      class: ErrorClass.AUTH,
      code: "CODEX_AUTH_FAILED",
      retryable: false,
    });
    expect(auth.error?.message).toContain("unexpected status 401 Unauthorized");
    expect(auth.error?.message).toContain("what to do:");

    const context = await run("context-window");
    expect(context.error).toMatchObject({
      class: ErrorClass.CONTEXT_WINDOW_EXCEEDED,
      retryable: false,
    });
    expect(context.requests).toBe(1);

    const storm = await run("server-storm");
    expect(storm.error).toMatchObject({
      class: ErrorClass.INTERNAL,
      code: "CODEX_SERVER_OVERLOADED",
      retryable: true,
    });
    // (1 + request_max_retries) × (1 + stream_max_retries) attempts.
    expect(storm.requests).toBe(4);
    expect(
      eventsOf(storm.events, "notice").filter((n) => n.kind === NoticeEvent_Kind.RETRYING),
    ).not.toHaveLength(0);
    for (const line of h.stderrLines) expect(line).not.toContain("sk-errors-key-0001");
  });

  it("ends an unreachable endpoint (closed port) at the turn time limit with a network error", async () => {
    harness = await PluginHarness.start({ skipConfigure: true, script: () => textReply("unused") });
    await configureEndpoint(harness, {
      base_url: `http://127.0.0.1:${await closedPort()}/v1`,
      api_key_env: undefined,
    });
    const started = Date.now();
    const { end, events } = await harness.turn({
      agentId: "unreachable",
      prompt: "anyone there?",
      options: { turnTimeoutSeconds: 4 },
    });
    const elapsed = Date.now() - started;
    expect(end.outcome, end.message).toBe(TurnEnd_Outcome.FAILED);
    // The class names the cause, the code the limit that ended it.
    expect(end.error).toMatchObject({
      class: ErrorClass.NETWORK,
      code: "TURN_TIMEOUT",
      retryable: true,
    });
    expect(end.error?.message).toContain("waiting for network");
    expect(eventsOf(events, "error")[0]).toEqual(end.error);
    expect(
      eventsOf(events, "notice").filter((n) => n.kind === NoticeEvent_Kind.RETRYING),
    ).not.toHaveLength(0);
    expect(elapsed).toBeGreaterThanOrEqual(4000);
    expect(elapsed).toBeLessThan(15_000);
  });
});

describe("auth modes", () => {
  it("refuses a turn with a typed AUTH error when codex is not logged in, and uses openai.api_key_env as CODEX_API_KEY", async () => {
    harness = await PluginHarness.start({
      skipConfigure: true,
      env: { CODEX_API_KEY: "", OPENAI_API_KEY: "sk-operator-openai-0001" },
      script: () => textReply("hello from the built-in provider"),
    });
    const h = harness;
    await h.configure({
      state_dir: h.stateDir,
      codex_home: h.codexHome,
      config_overrides: OFFLINE,
    });
    const info = await h.client.getInfo({});
    expect(info.auth).toMatchObject({ mode: "none", ready: false });
    expect(info.auth?.detail).toContain("codex exec` ignores it");

    const refused = await h.turn({ agentId: "logged-out", prompt: "hi" });
    expect(refused.end.outcome).toBe(TurnEnd_Outcome.FAILED);
    expect(refused.end.error).toMatchObject({
      class: ErrorClass.AUTH,
      code: "NOT_LOGGED_IN",
      retryable: false,
    });
    expect(refused.end.error?.message).toContain("codex login");
    expect(responsesRequests(h)).toHaveLength(0);

    // API-key mode: the operator's OPENAI_API_KEY reaches codex as CODEX_API_KEY, and
    // openai.base_url becomes codex's openai_base_url.
    await h.configure({
      state_dir: h.stateDir,
      codex_home: h.codexHome,
      config_overrides: OFFLINE,
      openai: { api_key_env: "OPENAI_API_KEY", base_url: h.server?.url },
    });
    expect((await h.client.getInfo({})).auth).toMatchObject({ mode: "api_key", ready: true });
    const { end } = await h.turn({ agentId: "api-key", prompt: "hi" });
    if (ON_APP_SERVER) {
      // codex reads CODEX_API_KEY in exec only: app-server would go to the model without the key.
      expect(end.outcome, end.message).toBe(TurnEnd_Outcome.FAILED);
      expect(end.error).toMatchObject({ code: "BACKEND_UNSUPPORTED", retryable: false });
      expect(responsesRequests(h)).toHaveLength(0);
      return;
    }
    expect(end.outcome, end.message).toBe(TurnEnd_Outcome.COMPLETED);
    const [request] = responsesRequests(h);
    expect(request?.headers["authorization"]).toBe("Bearer sk-operator-openai-0001");
    for (const line of h.stderrLines) expect(line).not.toContain("sk-operator-openai-0001");
  });

  it("gives each agent its own CODEX_HOME with auth.json linked, never copied, and config.toml layered in", async () => {
    harness = await PluginHarness.start({
      skipConfigure: true,
      script: () => textReply("ok"),
    });
    const h = harness;
    const operatorHome = h.codexHome;
    codexLogin(operatorHome, "sk-operator-one-0001");
    const operatorConfig = join(operatorHome, "config.toml");
    await writeFile(operatorConfig, 'model = "model-from-operator-config"\n');
    const overrides = mockProviderOverrides(h.server?.url ?? "");
    await h.configure({
      state_dir: h.stateDir,
      codex_home: operatorHome,
      per_agent_codex_home: true,
      // A custom provider that authenticates with codex's login (auth.json), not env_key.
      config_overrides: {
        ...overrides,
        model_providers: {
          plexum_mock: { ...overrides.model_providers.plexum_mock, requires_openai_auth: true },
        },
      },
    });
    const homeOf = (agent: string) => join(h.stateDir, "agents", agentDirName(agent), "codex-home");

    const first = await h.turn({ agentId: "alpha", prompt: "one" });
    expect(first.end.outcome, first.end.message).toBe(TurnEnd_Outcome.COMPLETED);
    expect(responsesRequests(h)[0]?.headers["authorization"]).toBe("Bearer sk-operator-one-0001");
    // The operator's config.toml reached codex through the per-agent copy.
    expect(responsesRequests(h)[0]?.body?.["model"]).toBe("model-from-operator-config");

    const alpha = homeOf("alpha");
    expect((await lstat(join(alpha, "auth.json"))).isSymbolicLink()).toBe(true);
    expect(await readlink(join(alpha, "auth.json"))).toBe(join(operatorHome, "auth.json"));
    expect((await lstat(join(alpha, "config.toml"))).isFile()).toBe(true);
    expect(await readFile(operatorConfig, "utf8")).toBe('model = "model-from-operator-config"\n');
    // The thread and codex's databases live in the agent's home, not the operator's.
    expect(await findRolloutFile(alpha, first.end.threadId)).toBeDefined();
    expect(await findRolloutFile(operatorHome, first.end.threadId)).toBeUndefined();
    expect((await readdir(alpha)).some((name) => name.endsWith(".sqlite"))).toBe(true);
    expect((await readdir(operatorHome)).some((name) => name.endsWith(".sqlite"))).toBe(false);

    // A credential write from inside the agent's home (what a token refresh does) goes through the
    // link into the operator's one file, and the link stays a link.
    codexLogin(alpha, "sk-rotated-two-0002");
    expect((await lstat(join(alpha, "auth.json"))).isSymbolicLink()).toBe(true);
    expect(await readFile(join(operatorHome, "auth.json"), "utf8")).toContain(
      "sk-rotated-two-0002",
    );

    // Another agent, and the operator's config edited: both see the current state.
    await writeFile(operatorConfig, 'model = "model-v2"\n');
    const beta = await h.turn({ agentId: "beta", prompt: "two" });
    expect(beta.end.outcome, beta.end.message).toBe(TurnEnd_Outcome.COMPLETED);
    const again = await h.turn({ agentId: "alpha", prompt: "three" });
    expect(again.end.outcome, again.end.message).toBe(TurnEnd_Outcome.COMPLETED);
    expect(again.end.threadId).toBe(first.end.threadId);
    const [, betaRequest, alphaRequest] = responsesRequests(h);
    expect(betaRequest?.headers["authorization"]).toBe("Bearer sk-rotated-two-0002");
    expect(alphaRequest?.headers["authorization"]).toBe("Bearer sk-rotated-two-0002");
    expect(betaRequest?.body?.["model"]).toBe("model-v2");
    // A resumed app-server thread keeps the model it recorded (codex's thread/resume); exec takes
    // config.toml's. The plugin passes a model on every turn only when one is configured.
    expect(alphaRequest?.body?.["model"]).toBe(
      ON_APP_SERVER ? "model-from-operator-config" : "model-v2",
    );
    expect(homeOf("beta")).not.toBe(alpha);
  });
});

describe("usage totals", () => {
  it("reports exact per-turn usage across a plugin restart, a consume and a lost thread; GetUsage sums it", async () => {
    const replies = {
      one: textReply("one", {
        usage: { inputTokens: 100, cachedTokens: 20, outputTokens: 10, reasoningTokens: 3 },
      }),
      twoCall: respond(execCommand("echo usage-tool", { callId: "call_usage_1" }), {
        usage: { inputTokens: 40, cachedTokens: 0, outputTokens: 4, reasoningTokens: 0 },
      }),
      twoText: textReply("two", {
        usage: { inputTokens: 60, cachedTokens: 30, outputTokens: 6, reasoningTokens: 1 },
      }),
      three: textReply("three", {
        usage: { inputTokens: 7, cachedTokens: 0, outputTokens: 2, reasoningTokens: 0 },
      }),
      four: textReply("four", {
        usage: { inputTokens: 11, cachedTokens: 5, outputTokens: 1, reasoningTokens: 0 },
      }),
    };
    harness = await PluginHarness.start({
      skipConfigure: true,
      script: (request) => {
        const prompt = lastUserPrompt(request);
        if (prompt === "turn two") {
          return lastInputItem(request)?.["type"] === "function_call_output"
            ? replies.twoText
            : replies.twoCall;
        }
        if (prompt === "turn three") return replies.three;
        if (prompt === "turn four") return replies.four;
        return replies.one;
      },
    });
    const h = harness;
    const config = {
      binary: requireCodexUnderTest().path,
      state_dir: h.stateDir,
      codex_home: h.codexHome,
      config_overrides: mockProviderOverrides(h.server?.url ?? ""),
    };
    await h.configure(config);
    const agentId = "usage-agent";

    const first = await h.turn({ agentId, prompt: "turn one" });
    expect(first.end.outcome, first.end.message).toBe(TurnEnd_Outcome.COMPLETED);
    expect(usageOf(first.end.usage)).toEqual({ input: 100, cached: 20, output: 10, reasoning: 3 });
    const afterOne = await h.client.getUsage({ agentId });
    expect(afterOne.turns).toBe(1n);
    expect(usageOf(afterOne.total)).toEqual(usageOf(first.end.usage));

    // A new plugin process on the same state dir and CODEX_HOME.
    const { client, close } = await h.relaunch();
    extraPlugins.push({ close });
    await client.configure({ configJson: new TextEncoder().encode(JSON.stringify(config)) });
    const turn = (prompt: string) => turnOn(client, h.workspace, agentId, prompt);

    const second = await turn("turn two");
    expect(second.end.outcome, second.end.message).toBe(TurnEnd_Outcome.COMPLETED);
    expect(second.end.threadId).toBe(first.end.threadId);
    // Both model requests of the turn, and nothing of turn one.
    expect(usageOf(second.end.usage)).toEqual({ input: 100, cached: 30, output: 10, reasoning: 1 });
    const [usageEvent] = eventsOf(second.events, "usage");
    expect(usageOf(usageEvent?.thread)).toEqual({
      input: 200,
      cached: 50,
      output: 20,
      reasoning: 4,
    });

    const consumed = await client.consume({ agentId, blockIds: ["call_usage_1"] });
    expect(consumed.rewritten).toEqual(["call_usage_1"]);
    const third = await turn("turn three");
    expect(third.end.outcome, third.end.message).toBe(TurnEnd_Outcome.COMPLETED);
    expect(third.end.threadId).toBe(first.end.threadId);
    expect(usageOf(third.end.usage)).toEqual({ input: 7, cached: 0, output: 2, reasoning: 0 });

    // The thread's rollout disappears: the next turn runs in a new thread from a zero baseline.
    const rollout = await findRolloutFile(h.codexHome, first.end.threadId);
    expect(rollout).toBeDefined();
    await rm(rollout ?? "");
    const fourth = await turn("turn four");
    expect(fourth.end.outcome, fourth.end.message).toBe(TurnEnd_Outcome.COMPLETED);
    expect(fourth.end.threadId).not.toBe(first.end.threadId);
    expect(usageOf(fourth.end.usage)).toEqual({ input: 11, cached: 5, output: 1, reasoning: 0 });

    const totals = await client.getUsage({ agentId });
    expect(totals.turns).toBe(4n);
    expect(usageOf(totals.total)).toEqual({ input: 218, cached: 55, output: 23, reasoning: 4 });
    expect(totals.threadId).toBe(fourth.end.threadId);
    expect(usageOf(totals.thread)).toEqual(usageOf(fourth.end.usage));
    // The totals outlive ResetThread.
    await client.resetThread({ agentId });
    const afterReset = await client.getUsage({ agentId });
    expect(afterReset.threadId).toBe("");
    expect(afterReset.turns).toBe(4n);
  });
});

describe("doctor", () => {
  // Asynchronous: the mock the doctor probes runs in this process.
  function doctor(configFile: string, env: NodeJS.ProcessEnv = {}) {
    return new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
      execFile(
        PLUGIN_PATH,
        ["doctor", "--config", configFile],
        { env: { ...process.env, ...env }, encoding: "utf8", timeout: 30_000 },
        (error, stdout, stderr) => {
          const code = (error as { code?: unknown } | null)?.code;
          resolve({
            status: error === null ? 0 : typeof code === "number" ? code : null,
            stdout,
            stderr,
          });
        },
      );
    });
  }

  it("passes against a reachable endpoint and explains each failure otherwise", async () => {
    harness = await PluginHarness.start({ skipConfigure: true, script: () => textReply("ok") });
    const h = harness;
    const file = join(h.root, "plugin-config.json");
    const daemonFile = join(h.root, "daemon-config.json");
    const codex = requireCodexUnderTest();
    const pluginConfig = {
      // As an operator sets it: a codex found only on this shell's PATH is a warning.
      binary: codex.path,
      state_dir: h.stateDir,
      codex_home: h.codexHome,
      config_overrides: OFFLINE,
      endpoint: { base_url: h.server?.url, api_key_env: "E2E_DOCTOR_KEY" },
    };
    await writeFile(file, JSON.stringify(pluginConfig));
    await writeFile(
      daemonFile,
      JSON.stringify({
        providers: [{ name: "openai-codex", path: PLUGIN_PATH, config: pluginConfig }],
      }),
    );

    const good = await doctor(daemonFile, { E2E_DOCTOR_KEY: "sk-doctor-key-0001" });
    expect(good.status, good.stdout + good.stderr).toBe(0);
    expect(good.stdout).toMatch(/^OK {4}codex: .*\(config\), codex-cli /m);
    expect(good.stdout).toContain(`(config), codex-cli ${codex.version}, supported`);
    // A supported codex without a feature this backend (exec: the config names none) depends on is
    // named, with what works differently, as a warning.
    const missing = missingFeaturesFor(codex.version, "exec");
    expect(good.stdout.match(/^WARN {2}codex: .*$/gm) ?? []).toEqual(
      missing.map((feature) =>
        expect.stringMatching(new RegExp(`^WARN {2}codex: no ${feature}: `)),
      ),
    );
    expect(good.stdout).toMatch(/^OK {4}auth: mode endpoint/m);
    expect(good.stdout).toMatch(
      /^OK {4}endpoint: .*reachable, GET .*\/v1\/models answered HTTP 200/m,
    );
    expect(good.stdout).toContain("All checks passed");
    expect(good.stdout).not.toContain("sk-doctor-key-0001");
    const models = (h.server?.requests ?? []).filter((r) => r.path === "/v1/models");
    expect(models[0]?.headers["authorization"]).toBe("Bearer sk-doctor-key-0001");

    // Key missing, endpoint down, state dir unwritable, a bad config key: one line each, exit 1.
    await writeFile(
      file,
      JSON.stringify({
        ...pluginConfig,
        state_dir: "/proc/plexum-doctor-state",
        endpoint: {
          base_url: `http://127.0.0.1:${await closedPort()}/v1`,
          api_key_env: "E2E_DOCTOR_KEY",
        },
        bogus: true,
      }),
    );
    const bad = await doctor(file, { E2E_DOCTOR_KEY: "" });
    expect(bad.status).toBe(1);
    expect(bad.stdout).toMatch(/^FAIL {2}config: bogus: unknown key/m);
    expect(bad.stdout).toMatch(/^FAIL {2}auth: mode endpoint: .*E2E_DOCTOR_KEY/m);
    expect(bad.stdout).toMatch(/^FAIL {2}endpoint: .*ECONNREFUSED/m);
    expect(bad.stdout).toMatch(/what to do: /);
    expect(bad.stdout).toMatch(/failed\.\n$/);
  });
});

/** One turn on a plugin client outside the harness (after a restart). */
async function turnOn(
  client: ServiceClient<typeof ProviderPlugin>,
  workspace: string,
  agentId: string,
  prompt: string,
) {
  const start: MessageInitShape<typeof StartTurnSchema> = {
    agent: { agentId, workspace },
    conversation: [{ role: Message_Role.USER, text: prompt }],
  };
  const events: TurnEvent[] = [];
  for await (const event of streamTurn(client, start)) events.push(event);
  const last = events.at(-1)?.event;
  if (last?.case !== "turnEnd") throw new Error("the turn ended without turn_end");
  return { events, end: last.value };
}
