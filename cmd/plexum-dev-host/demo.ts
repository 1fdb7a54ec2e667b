// `npm run demo`: two turns through the built plugin and the real codex. Offline by default, against
// the embedded scripted model; `--live` or `--config` talk to a real one.
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { readPluginConfigFile } from "../../internal/config/plugin-config-file.js";
import { DEMO_PROMPTS } from "../../internal/mock-model/demo-script.js";
import { runSession } from "./dev-host.js";
import { type EmbeddedModel, startEmbeddedModel } from "./embedded-model.js";
import type { HostReport } from "./host-report.js";

/** Options of the demo command. */
export interface DemoOptions {
  pluginPath: string;
  /** Use codex's own provider and login instead of the embedded mock. */
  live: boolean;
  /** A plugin config, or a daemon config.json, that replaces the embedded model. */
  configFile?: string;
  provider?: string;
  /** Cancels the running turn; the second prompt is not sent. */
  signal?: AbortSignal;
}

/** Runs the demo; resolves to the process exit code. */
export async function runDemo(options: DemoOptions, out: HostReport): Promise<number> {
  const root = await mkdtemp(join(tmpdir(), "plexum-demo-"));
  let model: EmbeddedModel | undefined;
  try {
    const workspace = join(root, "workspace");
    await mkdir(workspace);
    await writeFile(join(workspace, "README.md"), "# Alice's project\n");
    await writeFile(join(workspace, "notes.txt"), "remember the milk\n");

    let config: unknown;
    if (options.configFile !== undefined) {
      const file = await readPluginConfigFile(options.configFile, options.provider);
      out.report({
        type: "config_file",
        file: options.configFile,
        ...(file.provider === undefined ? {} : { provider: file.provider.name }),
      });
      // A config that is not an object goes to Configure as it is, to be refused there.
      config =
        typeof file.config === "object" && file.config !== null && !Array.isArray(file.config)
          ? { state_dir: join(root, "state"), ...file.config }
          : file.config;
    } else if (options.live) {
      out.report({ type: "live" });
      config = { state_dir: join(root, "state") };
    } else {
      model = await startEmbeddedModel(root);
      out.report({ type: "mock_model", url: model.server.url });
      config = model.config({});
    }

    const server = model?.server;
    const ok = await runSession(
      {
        pluginPath: options.pluginPath,
        config,
        agentId: "demo-agent",
        workspace,
        prompts: [DEMO_PROMPTS.first, DEMO_PROMPTS.second],
        stopOnFailure: true,
        ...(options.signal === undefined ? {} : { signal: options.signal }),
        ...(server === undefined ? {} : { mockRequests: () => server.requests.length }),
      },
      out,
    );
    return ok ? 0 : 1;
  } finally {
    await model?.close();
    await rm(root, { recursive: true, force: true });
  }
}
