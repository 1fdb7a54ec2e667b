// Plugin mode: serve plexum.provider.v1 over go-plugin's handshake. Stdout carries only the handshake.
import type { CodexProviderCore } from "../../internal/app/codex-provider-core.js";
import { systemClock } from "../../internal/core/clock.js";
import { resolveSelfCommand } from "../../internal/mcp/self-command.js";
import { PLEXUM_HANDSHAKE, PLUGIN_VERSION } from "../../internal/provider/plugin-identity.js";
import { ProviderService } from "../../internal/provider/provider-service.js";
import { createHclogLogger } from "../../src/log/hclog-logger.js";
import { servePlugin } from "../../src/plugin/serve.js";

/** Serves the provider until the host shuts it down. */
export async function serveProvider(): Promise<void> {
  const logger = createHclogLogger({ level: process.env.PLEXUM_LOG_LEVEL ?? "info" });
  if (process.env.MALLOC_ARENA_MAX === undefined) {
    // The executable's launcher sets it; started as `node <file>` the plugin runs without it.
    logger.warn(
      "MALLOC_ARENA_MAX is not set (the plugin was started as node <file>, not through its " +
        "launcher): glibc's default malloc arenas let RSS grow over thousands of turns; set " +
        "MALLOC_ARENA_MAX=2",
    );
  }
  // The codex side (config, stores, turn engine, processes) loads after the handshake: the one
  // lazy import, here at the composition root.
  let core: Promise<CodexProviderCore> | undefined;
  const loadCore = (): Promise<CodexProviderCore> => {
    core ??= import("../../internal/app/codex-provider-core.js").then(
      ({ CodexProviderCore }) =>
        new CodexProviderCore({
          logger,
          env: process.env,
          selfCommand: resolveSelfCommand(),
          clock: systemClock,
        }),
    );
    return core;
  };
  const provider = new ProviderService({ logger, version: PLUGIN_VERSION, core: loadCore });
  await servePlugin({
    handshake: PLEXUM_HANDSHAKE,
    services: [provider.definition()],
    logger,
    onShutdown: async (reason) => {
      if (core !== undefined) await (await core).shutdown(reason);
    },
  });
  (await loadCore()).warmUp();
}
