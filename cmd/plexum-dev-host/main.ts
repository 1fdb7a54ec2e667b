// plexum-dev-host: argv parsing and dispatch only.
import { mkdir } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

import { runDemo } from "./demo.js";
import {
  closeSession,
  openSession,
  readProviderEntry,
  runPrintedTurn,
  turnSucceeded,
} from "./dev-host.js";

const USAGE = `usage:
  plexum-dev-host demo [--live] [--config config.json [--provider NAME]]
  plexum-dev-host run  [--config config.json [--provider NAME]] [--plugin PATH]
                       [--agent ID] [--workspace DIR] [--model ID] PROMPT [PROMPT ...]

demo  two turns (the second resumes the first) against the embedded offline model;
      --live uses codex's own provider and login, --config an operator config.json.
run   one turn per PROMPT for one agent, through the plugin named in config.json
      (or --plugin, default: the plugin next to this executable).
`;

const print = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

// The plugin built next to this executable.
function siblingPlugin(): string {
  return join(dirname(fileURLToPath(import.meta.url)), "plexum-openai-provider-plugin");
}

async function run(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      config: { type: "string" },
      provider: { type: "string" },
      plugin: { type: "string" },
      agent: { type: "string", default: "dev-agent" },
      workspace: { type: "string", default: process.cwd() },
      model: { type: "string", default: "" },
      live: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  const [command, ...prompts] = positionals;
  if (values.help || command === undefined) {
    process.stderr.write(USAGE);
    return values.help ? 0 : 2;
  }
  if (command === "demo") {
    return runDemo(
      {
        pluginPath: values.plugin ?? siblingPlugin(),
        live: values.live,
        ...(values.config === undefined ? {} : { configFile: values.config }),
        ...(values.provider === undefined ? {} : { provider: values.provider }),
      },
      print,
    );
  }
  if (command !== "run" || prompts.length === 0) {
    process.stderr.write(USAGE);
    return 2;
  }
  const entry =
    values.config === undefined
      ? undefined
      : await readProviderEntry(values.config, values.provider);
  const pluginPath = values.plugin ?? entry?.path ?? siblingPlugin();
  const workspace = resolve(values.workspace);
  await mkdir(workspace, { recursive: true });
  const session = await openSession(pluginPath, entry?.config ?? {}, print);
  const controller = new AbortController();
  // First Ctrl-C cancels the running turn through the plugin; the turn still reports its end.
  process.on("SIGINT", () => controller.abort());
  let ok = true;
  try {
    for (const prompt of prompts) {
      const end = await runPrintedTurn(
        session,
        { agentId: values.agent, workspace, prompt, model: values.model },
        print,
        controller.signal,
      );
      ok &&= turnSucceeded(end);
      if (controller.signal.aborted) break;
    }
  } finally {
    await closeSession(session, print);
  }
  return ok ? 0 : 1;
}

run(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(
      `plexum-dev-host: ${error instanceof Error ? error.message : String(error)}\n`,
    );
    process.exitCode = 1;
  },
);
