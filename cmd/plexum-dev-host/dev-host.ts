// A development host: loads the plugin by path through the real go-plugin handshake, exactly as the
// daemon does, configures it and runs turns, printing events for a person.
import { readFile } from "node:fs/promises";
import { isAbsolute, resolve } from "node:path";

import type { MessageInitShape } from "@bufbuild/protobuf";

import { PLEXUM_HANDSHAKE } from "../../internal/provider/plugin-identity.js";
import { streamTurn } from "../../internal/provider/provider-client.js";
import {
  Diagnostic_Severity,
  Message_Role,
  ProviderPlugin,
  type StartTurnSchema,
  type TurnEnd,
  TurnEnd_Outcome,
} from "../../internal/provider/provider-protocol.js";
import { type LaunchedPlugin, launchPlugin } from "../../src/host/launch.js";
import type { ServiceClient } from "../../src/plugin/grpc-client.js";
import { renderEvent } from "./render-event.js";

/** One provider entry of an operator config.json. */
export interface ProviderEntry {
  name: string;
  /** Absolute path of the plugin executable. */
  path: string;
  /** Handed to the plugin's Configure. */
  config: unknown;
}

/** A launched, configured plugin and its client. */
export interface HostSession {
  plugin: LaunchedPlugin;
  client: ServiceClient<typeof ProviderPlugin>;
}

type Print = (line: string) => void;

/** Reads an operator config.json and picks one provider entry (by name, else the first). */
export async function readProviderEntry(file: string, name?: string): Promise<ProviderEntry> {
  const parsed = JSON.parse(await readFile(file, "utf8")) as { providers?: unknown };
  const providers = Array.isArray(parsed.providers) ? (parsed.providers as ProviderEntry[]) : [];
  const entry = name === undefined ? providers[0] : providers.find((p) => p.name === name);
  if (entry === undefined) {
    throw new Error(
      name === undefined
        ? `${file}: "providers" lists no provider`
        : `${file}: no provider named ${JSON.stringify(name)}`,
    );
  }
  if (typeof entry.path !== "string" || !isAbsolute(entry.path)) {
    throw new Error(`${file}: provider ${entry.name}: "path" must be the plugin's absolute path`);
  }
  return entry;
}

/** Launches the plugin through the handshake and configures it. */
export async function openSession(
  pluginPath: string,
  config: unknown,
  print: Print,
  options: { autoMtls?: boolean; env?: NodeJS.ProcessEnv } = {},
): Promise<HostSession> {
  const plugin = await launchPlugin({
    path: resolve(pluginPath),
    cookieKey: PLEXUM_HANDSHAKE.cookieKey,
    cookieValue: PLEXUM_HANDSHAKE.cookieValue,
    protocolVersions: PLEXUM_HANDSHAKE.appProtocolVersions,
    autoMtls: options.autoMtls ?? false,
    ...(options.env === undefined ? {} : { env: options.env }),
    // Plugin logs stay available for debugging without cluttering the rendered turn.
    stderr: (line) => {
      if (process.env.PLEXUM_DEV_HOST_PLUGIN_LOGS === "1") process.stderr.write(`${line}\n`);
    },
  });
  const client = plugin.createClient(ProviderPlugin);
  try {
    const info = await client.getInfo({});
    print(
      `plugin ${info.name} ${info.version} (protocol ${info.protocolVersion}) at ${plugin.address}`,
    );
    const configured = await client.configure({
      configJson: new TextEncoder().encode(JSON.stringify(config ?? {})),
    });
    const codex = configured.codex;
    print(
      codex?.ready === true
        ? `codex ${codex.version} at ${codex.binaryPath} (${codex.source})`
        : `codex not ready: ${codex?.degradedReason ?? "unknown"}`,
    );
    for (const diagnostic of configured.diagnostics) {
      const level = diagnostic.severity === Diagnostic_Severity.ERROR ? "error" : "warning";
      print(
        `config ${level}: ${diagnostic.field ? `${diagnostic.field}: ` : ""}${diagnostic.summary}`,
      );
    }
  } catch (error) {
    client.close();
    await plugin.kill();
    throw error;
  }
  return { plugin, client };
}

/** Runs one turn and prints its events; returns the terminal event. */
export async function runPrintedTurn(
  session: HostSession,
  turn: { agentId: string; workspace: string; prompt: string; model?: string },
  print: Print,
  signal?: AbortSignal,
): Promise<TurnEnd | undefined> {
  const start: MessageInitShape<typeof StartTurnSchema> = {
    agent: { agentId: turn.agentId, workspace: turn.workspace },
    model: turn.model ?? "",
    conversation: [{ role: Message_Role.USER, text: turn.prompt }],
  };
  print(`\n> ${turn.prompt}`);
  let end: TurnEnd | undefined;
  for await (const event of streamTurn(session.client, start, signal ? { signal } : {})) {
    const line = renderEvent(event);
    if (line !== "") print(line);
    if (event.event.case === "turnEnd") end = event.event.value;
  }
  return end;
}

/** Shuts the plugin down the way go-plugin's Client.Kill does. */
export async function closeSession(session: HostSession, print: Print): Promise<void> {
  session.client.close();
  const exit = await session.plugin.kill();
  print(
    `plugin stopped in ${Math.round(exit.durationMs)} ms (${exit.signal === null ? `exit ${exit.exitCode}` : exit.signal})`,
  );
}

/** True when a turn ended in success. */
export function turnSucceeded(end: TurnEnd | undefined): boolean {
  return end?.outcome === TurnEnd_Outcome.COMPLETED;
}
