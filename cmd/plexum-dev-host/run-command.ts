// `plexum-dev-host run`: one turn per prompt for one agent, through the plugin the config names (or
// --plugin), against the model the config names or, with --mock, the embedded one.
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { isAbsolute, join, resolve } from "node:path";

import {
  type PluginConfigFile,
  readPluginConfigFile,
} from "../../internal/config/plugin-config-file.js";
import { runSession } from "./dev-host.js";
import { type EmbeddedModel, startEmbeddedModel } from "./embedded-model.js";
import type { HostReport } from "./host-report.js";

/** Options of the run command. */
export interface RunOptions {
  prompts: readonly string[];
  /** A plugin config, or a daemon config.json with a `providers` list. */
  configFile?: string;
  /** With a daemon config.json: the provider entry (default: the first). */
  provider?: string;
  /** The plugin executable; default: the config's provider path, else `defaultPlugin`. */
  plugin?: string;
  defaultPlugin: string;
  agentId: string;
  workspace: string;
  model: string;
  /** Run against the embedded mock model, in throw-away state. */
  mock: boolean;
  /** Forget the agent's thread before the first turn. */
  newThread: boolean;
  /** Cancels the running turn. */
  signal?: AbortSignal;
}

/** Said when a turn resumes a thread this run did not start. */
export const RESUME_HINT = "the agent's last thread; --new-thread starts a new one";

/** Runs the command; resolves to the process exit code. */
export async function runCommand(options: RunOptions, out: HostReport): Promise<number> {
  if (options.provider !== undefined && options.configFile === undefined) {
    throw new Error("--provider picks an entry of a daemon config.json: give it with --config");
  }
  const file =
    options.configFile === undefined
      ? undefined
      : await readPluginConfigFile(options.configFile, options.provider);
  if (options.configFile !== undefined && file !== undefined) {
    out.report({
      type: "config_file",
      file: options.configFile,
      ...(file.provider === undefined ? {} : { provider: file.provider.name }),
    });
  }
  const pluginPath =
    options.plugin ?? providerPath(options.configFile, file) ?? options.defaultPlugin;
  const workspace = resolve(options.workspace);
  await mkdir(workspace, { recursive: true });

  const root = options.mock ? await mkdtemp(join(tmpdir(), "plexum-dev-host-")) : undefined;
  let model: EmbeddedModel | undefined;
  try {
    let config: unknown = file?.config ?? {};
    if (root !== undefined) {
      model = await startEmbeddedModel(root);
      out.report({ type: "mock_model", url: model.server.url });
      config = model.config(config);
    }
    const server = model?.server;
    const ok = await runSession(
      {
        pluginPath,
        config,
        agentId: options.agentId,
        workspace,
        prompts: options.prompts,
        model: options.model,
        newThread: options.newThread,
        ...(options.signal === undefined ? {} : { signal: options.signal }),
        ...(server === undefined ? {} : { mockRequests: () => server.requests.length }),
      },
      out,
    );
    return ok ? 0 : 1;
  } finally {
    await model?.close();
    if (root !== undefined) await rm(root, { recursive: true, force: true });
  }
}

// A daemon config.json names the plugin by absolute path, as the daemon needs it.
function providerPath(
  configFile: string | undefined,
  file: PluginConfigFile | undefined,
): string | undefined {
  const provider = file?.provider;
  if (provider === undefined) return undefined;
  if (provider.path === undefined || !isAbsolute(provider.path)) {
    throw new Error(
      `${configFile}: provider ${provider.name}: "path" must be the plugin's absolute path`,
    );
  }
  return provider.path;
}
