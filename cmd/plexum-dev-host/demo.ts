// `npm run demo`: two turns through the built plugin and the real codex. Offline by default, against
// the embedded scripted model; `--live` or `--config` talk to a real one.
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { mockProviderOverrides } from "../../internal/mock-model/codex-provider-overrides.js";
import { DEMO_PROMPTS, demoScript } from "../../internal/mock-model/demo-script.js";
import {
  type ResponsesServer,
  startResponsesServer,
} from "../../internal/mock-model/responses-server.js";
import {
  closeSession,
  openSession,
  readProviderEntry,
  runPrintedTurn,
  turnSucceeded,
} from "./dev-host.js";

/** Options of the demo command. */
export interface DemoOptions {
  pluginPath: string;
  /** Use codex's own provider and login instead of the embedded mock. */
  live: boolean;
  /** An operator config.json whose provider config replaces the embedded one. */
  configFile?: string;
  provider?: string;
}

/** Runs the demo; resolves to the process exit code. */
export async function runDemo(
  options: DemoOptions,
  print: (line: string) => void,
): Promise<number> {
  const root = await mkdtemp(join(tmpdir(), "plexum-demo-"));
  let server: ResponsesServer | undefined;
  try {
    const workspace = join(root, "workspace");
    const codexHome = join(root, "codex-home");
    await mkdir(workspace);
    await mkdir(codexHome);
    await writeFile(join(workspace, "README.md"), "# Alice's project\n");
    await writeFile(join(workspace, "notes.txt"), "remember the milk\n");

    let config: Record<string, unknown>;
    if (options.configFile !== undefined) {
      const entry = await readProviderEntry(options.configFile, options.provider);
      config = { state_dir: join(root, "state"), ...(entry.config as Record<string, unknown>) };
      print(`using provider ${entry.name} from ${options.configFile}`);
    } else if (options.live) {
      config = { state_dir: join(root, "state") };
      print("using codex's own provider and login (live)");
    } else {
      server = await startResponsesServer({ script: demoScript });
      config = {
        state_dir: join(root, "state"),
        codex_home: codexHome,
        config_overrides: mockProviderOverrides(server.url),
      };
      print(`embedded mock model at ${server.url} (offline; see README for a real model)`);
    }

    const session = await openSession(options.pluginPath, config, print);
    let ok = true;
    try {
      const agent = { agentId: "demo-agent", workspace };
      for (const prompt of [DEMO_PROMPTS.first, DEMO_PROMPTS.second]) {
        const end = await runPrintedTurn(session, { ...agent, prompt }, print);
        if (!turnSucceeded(end)) {
          ok = false;
          break;
        }
      }
    } finally {
      await closeSession(session, print);
    }
    if (server !== undefined) print(`the mock model served ${server.requests.length} requests`);
    return ok ? 0 : 1;
  } finally {
    await server?.close();
    await rm(root, { recursive: true, force: true });
  }
}
