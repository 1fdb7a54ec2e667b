// plexum-openai-provider-plugin: argv dispatch only. No argument serves the plugin; stdout then
// carries nothing but the go-plugin handshake line. Each mode is loaded lazily, so `mcp-host`
// (started by codex on every turn) and `--version` do not pay for gRPC.
import { PLUGIN_VERSION } from "../../internal/provider/plugin-identity.js";

const USAGE = `usage: plexum-openai-provider-plugin [--version | mcp-host | doctor [--config FILE]]

Run without arguments by a Plexum daemon (a go-plugin host), it serves the
plexum.provider.v1 gRPC service. It is not meant to be run by hand.
\`mcp-host\` is the MCP stdio server codex starts for the host's tools.
\`doctor\` checks codex, credentials, the endpoint and directories, in plain words.
`;

// Runs a mode to completion; an unexpected failure is reported on stderr (never stdout).
function runMode(name: string, mode: () => Promise<number | void>): void {
  mode().then(
    (code) => {
      if (typeof code === "number") process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`plexum-openai-provider-plugin${name}: ${String(error)}\n`);
      process.exit(1);
    },
  );
}

function main(argv: readonly string[]): void {
  const [command] = argv;
  switch (command) {
    case undefined:
      runMode("", async () => (await import("./serve-provider.js")).serveProvider());
      return;
    case "mcp-host":
      runMode(" mcp-host", async () => {
        const code = await (await import("./mcp-host.js")).runMcpHost();
        // Nothing should be left running; this only bounds a straggling handle.
        setTimeout(() => process.exit(code), 1000).unref();
        return code;
      });
      return;
    case "doctor":
      runMode(" doctor", async () => (await import("./doctor.js")).runDoctorCommand(argv.slice(1)));
      return;
    case "--version":
    case "version":
      process.stdout.write(`plexum-openai-provider-plugin ${PLUGIN_VERSION}\n`);
      return;
    case "--help":
    case "-h":
      process.stderr.write(USAGE);
      return;
    default:
      process.stderr.write(`unknown argument ${JSON.stringify(command)}\n\n${USAGE}`);
      process.exitCode = 2;
  }
}

main(process.argv.slice(2));
