// Runs the BUILT plugin executable the way the daemon does (real handshake, gRPC over a unix socket)
// against the real codex and a mock Responses API on 127.0.0.1, with throw-away directories. Every
// Configure names the codex under test (CODEX_BIN, else the pinned one) as `binary`, so the plugin
// never looks codex up on PATH.
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, realpath, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

import type { MessageInitShape } from "@bufbuild/protobuf";

import { mockProviderOverrides } from "../../internal/mock-model/codex-provider-overrides.js";
import type { MockScript } from "../../internal/mock-model/mock-reply.js";
import {
  type ResponsesServer,
  startResponsesServer,
} from "../../internal/mock-model/responses-server.js";
import { PLEXUM_HANDSHAKE } from "../../internal/provider/plugin-identity.js";
import { streamTurn } from "../../internal/provider/provider-client.js";
import {
  type ImageSchema,
  Message_Role,
  ProviderPlugin,
  type StartTurnSchema,
  type TurnEnd,
  type TurnEvent,
} from "../../src/gen/plexum/provider/v1/provider_pb.js";
import { type LaunchedPlugin, launchPlugin } from "../../src/host/launch.js";
import type { ServiceClient } from "../../src/plugin/grpc-client.js";
import { codexUnderTest } from "./codex-bin.js";

/**
 * The backend the end-to-end suite runs: `exec` (default) or `app-server`, from
 * PLEXUM_E2E_BACKEND. Every Configure that does not name a backend gets this one, so the same test
 * files run against either.
 */
export const E2E_BACKEND: "exec" | "app-server" =
  process.env["PLEXUM_E2E_BACKEND"] === "app-server" ? "app-server" : "exec";

/** For `it.skipIf(...)` of tests that are about `codex exec` itself (argv, exit codes, stderr). */
export const ON_APP_SERVER = E2E_BACKEND === "app-server";

/** The built plugin executable; e2e tests need `npm run build` first (npm test does it). */
export const PLUGIN_PATH = resolve("dist/plexum-openai-provider-plugin");

/** Fails with a clear message when the plugin was not built. */
export function assertPluginBuilt(): void {
  if (!existsSync(PLUGIN_PATH)) {
    throw new Error(`${PLUGIN_PATH} is missing: run \`npm run build\` (npm test builds first)`);
  }
}

export interface HarnessOptions {
  /** The scripted model; omit for a plugin without a mock (config must then say where codex goes). */
  script?: MockScript;
  /** Merged over the harness's config (binary, state_dir, codex_home, mock provider overrides). */
  config?: Record<string, unknown>;
  /** Skip Configure entirely. */
  skipConfigure?: boolean;
  autoMtls?: boolean;
  env?: NodeJS.ProcessEnv;
}

export interface TurnResult {
  events: TurnEvent[];
  end: TurnEnd;
}

export interface TurnInput {
  agentId: string;
  prompt: string;
  workspace?: string;
  model?: string;
  options?: MessageInitShape<typeof StartTurnSchema>["options"];
  /** Images attached to the prompt message. */
  images?: MessageInitShape<typeof ImageSchema>[];
  signal?: AbortSignal;
}

/** A running plugin with its mock model and directories. */
export class PluginHarness {
  private constructor(
    /** Every stderr line the plugin wrote (hclog JSON). */
    readonly stderrLines: string[],
    readonly plugin: LaunchedPlugin,
    readonly client: ServiceClient<typeof ProviderPlugin>,
    readonly server: ResponsesServer | undefined,
    readonly root: string,
    readonly workspace: string,
    readonly stateDir: string,
    readonly codexHome: string,
  ) {}

  /** Launches the built plugin and configures it for the mock model. */
  static async start(options: HarnessOptions = {}): Promise<PluginHarness> {
    assertPluginBuilt();
    const root = await mkdtemp(join(tmpdir(), "plexum-e2e-"));
    const workspace = join(root, "workspace");
    const stateDir = join(root, "state");
    const codexHome = join(root, "codex-home");
    await Promise.all([mkdir(workspace), mkdir(codexHome)]);
    const server =
      options.script === undefined
        ? undefined
        : await startResponsesServer({ script: options.script });
    const stderrLines: string[] = [];
    const plugin = await launchPlugin({
      path: PLUGIN_PATH,
      cookieKey: PLEXUM_HANDSHAKE.cookieKey,
      cookieValue: PLEXUM_HANDSHAKE.cookieValue,
      protocolVersions: [1],
      autoMtls: options.autoMtls ?? false,
      socketDir: root,
      env: { PLEXUM_LOG_LEVEL: "debug", ...options.env },
      stderr: (line) => stderrLines.push(line),
    });
    const client = plugin.createClient(ProviderPlugin);
    const harness = new PluginHarness(
      stderrLines,
      plugin,
      client,
      server,
      root,
      workspace,
      stateDir,
      codexHome,
    );
    if (options.skipConfigure !== true) {
      await harness.configure({
        state_dir: stateDir,
        codex_home: codexHome,
        ...(server === undefined ? {} : { config_overrides: mockProviderOverrides(server.url) }),
        ...options.config,
      });
    }
    return harness;
  }

  /**
   * Calls Configure with a config object. A config without `binary` gets the codex under test,
   * and the plugin must then report exactly that binary: a PATH lookup can never slip in.
   */
  async configure(config: unknown) {
    const own = typeof config === "object" && config !== null && "binary" in config;
    const codex = own ? undefined : codexUnderTest();
    const sent = withBackend(
      own || codex === undefined ? config : { binary: codex.path, ...(config as object) },
    );
    const response = await this.client.configure({
      configJson: new TextEncoder().encode(JSON.stringify(sent)),
    });
    if (codex !== undefined && response.codex?.ready === true) {
      const expected = await realpath(codex.path);
      if (response.codex.binaryPath !== expected || response.codex.version !== codex.version) {
        throw new Error(
          `the plugin runs codex ${response.codex.version} at ${response.codex.binaryPath} ` +
            `(${response.codex.source}), not the codex under test ${codex.version} at ${expected}`,
        );
      }
    }
    return response;
  }

  /**
   * Kills this plugin process and launches a new one on the same directories (a restart, as a
   * daemon does it); the caller closes what it returns.
   */
  async relaunch(): Promise<{
    plugin: LaunchedPlugin;
    client: ServiceClient<typeof ProviderPlugin>;
    close: () => Promise<void>;
  }> {
    await this.plugin.kill();
    const plugin = await launchPlugin({
      path: PLUGIN_PATH,
      cookieKey: PLEXUM_HANDSHAKE.cookieKey,
      cookieValue: PLEXUM_HANDSHAKE.cookieValue,
      protocolVersions: [1],
      socketDir: this.root,
      env: { PLEXUM_LOG_LEVEL: "debug" },
      stderr: (line) => this.stderrLines.push(line),
    });
    const client = plugin.createClient(ProviderPlugin);
    return {
      plugin,
      client,
      close: async () => {
        client.close();
        await plugin.kill();
      },
    };
  }

  /** Runs one turn to its end and returns every event. */
  async turn(input: TurnInput): Promise<TurnResult> {
    const events: TurnEvent[] = [];
    const start: MessageInitShape<typeof StartTurnSchema> = {
      agent: { agentId: input.agentId, workspace: input.workspace ?? this.workspace },
      model: input.model ?? "",
      conversation: [{ role: Message_Role.USER, text: input.prompt, images: input.images ?? [] }],
      ...(input.options === undefined ? {} : { options: input.options }),
    };
    for await (const event of streamTurn(
      this.client,
      start,
      input.signal === undefined ? {} : { signal: input.signal },
    )) {
      events.push(event);
    }
    const last = events.at(-1)?.event;
    if (last?.case !== "turnEnd") {
      throw new Error(`the turn's stream ended without turn_end: ${events.length} events`);
    }
    return { events, end: last.value };
  }

  /** The agent's persisted thread record. */
  async threadRecord(agentId: string): Promise<{ thread_id: string } & Record<string, unknown>> {
    const { agentDirName } = await import("../../internal/core/agent-id.js");
    const text = await readFile(
      join(this.stateDir, "agents", agentDirName(agentId), "thread.json"),
      "utf8",
    );
    return JSON.parse(text) as { thread_id: string } & Record<string, unknown>;
  }

  /** Shuts the plugin down like go-plugin's Client.Kill and removes every directory. */
  async close(): Promise<void> {
    this.client.close();
    await this.plugin.kill();
    await this.server?.close();
    await rm(this.root, { recursive: true, force: true });
  }
}

type EventBody = TurnEvent["event"];
type EventCase = NonNullable<EventBody["case"]>;
type EventValue<C extends EventCase> =
  Extract<EventBody, { case: C }> extends { value: infer V } ? V : never;

/** The events of one oneof case, unwrapped. */
export function eventsOf<C extends EventCase>(
  events: readonly TurnEvent[],
  kind: C,
): EventValue<C>[] {
  const values: EventValue<C>[] = [];
  for (const { event } of events) {
    if (event.case === kind) values.push(event.value as EventValue<C>);
  }
  return values;
}

// The suite's backend, unless the config names one (or is not an object: a test of bad input).
function withBackend(config: unknown): unknown {
  if (E2E_BACKEND === "exec") return config;
  if (typeof config !== "object" || config === null || Array.isArray(config)) return config;
  return "backend" in config ? config : { backend: E2E_BACKEND, ...config };
}
