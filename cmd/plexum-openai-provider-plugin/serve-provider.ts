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
