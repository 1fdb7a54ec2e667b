// Plugin mode: serve plexum.provider.v1 over go-plugin's handshake. Stdout carries only the handshake.
import { resolveSelfCommand } from "../../internal/mcp/self-command.js";
import { PLEXUM_HANDSHAKE, PLUGIN_VERSION } from "../../internal/provider/plugin-identity.js";
import { ProviderService } from "../../internal/provider/provider-service.js";
import { ProviderPlugin } from "../../src/gen/plexum/provider/v1/provider_pb.js";
import { createHclogLogger } from "../../src/log/hclog-logger.js";
import { implementService } from "../../src/plugin/grpc-service.js";
import { servePlugin } from "../../src/plugin/serve.js";

/** Serves the provider until the host shuts it down. */
export async function serveProvider(): Promise<void> {
  const logger = createHclogLogger({ level: process.env.PLEXUM_LOG_LEVEL ?? "info" });
  if (process.env.MALLOC_ARENA_MAX === undefined) {
    // The executable's #! line sets it; started as `node <file>` the plugin runs without it.
    logger.warn(
      "MALLOC_ARENA_MAX is not set (the plugin was not started through its #! line): glibc's " +
        "default malloc arenas let RSS grow over thousands of turns; set MALLOC_ARENA_MAX=2",
    );
  }
  const provider = new ProviderService({
    logger,
    version: PLUGIN_VERSION,
    selfCommand: resolveSelfCommand(),
  });
  await servePlugin({
    handshake: PLEXUM_HANDSHAKE,
    services: [implementService(ProviderPlugin, provider.implementation())],
    logger,
    onShutdown: (reason) => provider.shutdown(reason),
  });
  provider.warmUp();
}
