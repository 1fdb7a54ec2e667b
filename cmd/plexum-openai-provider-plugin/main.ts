// plexum-openai-provider-plugin: argv dispatch only. No argument serves the plugin; stdout then
// carries nothing but the go-plugin handshake line.
import { PLUGIN_VERSION } from "../../internal/provider/plugin-identity.js";
import { serveProvider } from "./serve-provider.js";

const USAGE = `usage: plexum-openai-provider-plugin [--version]

Run without arguments by a Plexum daemon (a go-plugin host), it serves the
plexum.provider.v1 gRPC service. It is not meant to be run by hand.
`;

function main(argv: readonly string[]): void {
  const [command] = argv;
  switch (command) {
    case undefined:
      serveProvider().catch((error: unknown) => {
        process.stderr.write(`plexum-openai-provider-plugin: ${String(error)}\n`);
        process.exit(1);
      });
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
