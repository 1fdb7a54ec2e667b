// plexum-dev-host: argv parsing and dispatch only.
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

import { runDemo } from "./demo.js";
import type { HostReport } from "./host-report.js";
import { JsonReport } from "./json-report.js";
import { RESUME_HINT, runCommand } from "./run-command.js";
import { TextReport } from "./text-report.js";

const USAGE = `usage:
  plexum-dev-host demo [--live | --config FILE [--provider NAME]] [--json]
  plexum-dev-host run  [--mock] [--config FILE [--provider NAME]] [--plugin PATH] [--new-thread]
                       [--agent ID] [--workspace DIR] [--model ID] [--json] PROMPT [PROMPT ...]

demo  two turns (the second resumes the first) against the embedded offline model;
      --live uses codex's own provider and login, --config an operator's config.
run   one turn per PROMPT for one agent (default dev-agent), resuming the agent's last thread.
      --config     the plugin's config object, or the daemon's config.json (its provider NAME,
                   default the first, also names the plugin); default {}
      --plugin     the plugin executable (default: the config's, else the one next to this file)
      --mock       the embedded offline model instead of the config's, in throw-away state
      --new-thread forget the agent's thread first (ResetThread)
--json  one JSON object per line for scripts: each fact and turn event, then a "summary".
Plugin logs: PLEXUM_DEV_HOST_PLUGIN_LOGS=1 shows them on stderr.
`;

// The plugin built next to this executable.
function siblingPlugin(): string {
  return join(dirname(fileURLToPath(import.meta.url)), "plexum-openai-provider-plugin");
}

/** A mistake in the command line: reported with a pointer to --help, exit code 2. */
class UsageError extends Error {}

function parse(args: string[]) {
  try {
    return parseArgs({
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
        mock: { type: "boolean", default: false },
        "new-thread": { type: "boolean", default: false },
        json: { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
    });
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error), { cause: error });
  }
}

async function main(args: string[]): Promise<number> {
  const { values, positionals } = parse(args);
  const [command, ...prompts] = positionals;
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (command === undefined) {
    process.stderr.write(USAGE);
    return 2;
  }
  const controller = new AbortController();
  // Ctrl-C cancels the running turn through the plugin; the turn still reports its end.
  process.on("SIGINT", () => controller.abort());
  // A reader that goes away (`| head`) ends the run the same way, quietly.
  let stdoutOpen = true;
  process.stdout.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code !== "EPIPE") throw error;
    stdoutOpen = false;
    controller.abort();
  });
  const print = (line: string): void => {
    if (stdoutOpen) process.stdout.write(`${line}\n`);
  };
  const out: HostReport = values.json
    ? new JsonReport(print)
    : new TextReport(print, command === "run" ? { resumeHint: RESUME_HINT } : {});
  if (command === "demo") {
    if (values.live && values.config !== undefined) {
      throw new UsageError("demo takes --live or --config, not both");
    }
    return runDemo(
      {
        pluginPath: values.plugin ?? siblingPlugin(),
        live: values.live,
        ...(values.config === undefined ? {} : { configFile: values.config }),
        ...(values.provider === undefined ? {} : { provider: values.provider }),
        signal: controller.signal,
      },
      out,
    );
  }
  if (command !== "run") throw new UsageError(`unknown command ${JSON.stringify(command)}`);
  if (prompts.length === 0) throw new UsageError("run needs at least one PROMPT");
  if (values.live) throw new UsageError("--live is for demo; run uses the config's model");
  return runCommand(
    {
      prompts,
      ...(values.config === undefined ? {} : { configFile: values.config }),
      ...(values.provider === undefined ? {} : { provider: values.provider }),
      ...(values.plugin === undefined ? {} : { plugin: values.plugin }),
      defaultPlugin: siblingPlugin(),
      agentId: values.agent,
      workspace: values.workspace,
      model: values.model,
      mock: values.mock,
      newThread: values["new-thread"],
      signal: controller.signal,
    },
    out,
  );
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    const message = error instanceof Error ? error.message : String(error);
    const usage = error instanceof UsageError;
    process.stderr.write(
      `plexum-dev-host: ${message}${usage ? " (plexum-dev-host --help shows the usage)" : ""}\n`,
    );
    process.exitCode = usage ? 2 : 1;
  },
);
