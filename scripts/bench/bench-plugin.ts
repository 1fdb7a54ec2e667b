// The built plugin as the benchmarks launch it: through the real handshake, its socket and state
// under the benchmark's temp dir, its log on stderr only when it matters.
import { join, resolve } from "node:path";

import { PLEXUM_HANDSHAKE } from "../../internal/provider/plugin-identity.js";
import { type LaunchedPlugin, launchPlugin } from "../../src/host/launch.js";

/** `dist/…`, or the build in PLEXUM_BENCH_DIST (`node scripts/build.mjs --outdir DIR`). */
export const BENCH_PLUGIN = resolve(
  process.env["PLEXUM_BENCH_DIST"] ?? "dist",
  "plexum-openai-provider-plugin",
);

/** Launches the plugin in `root`; of its stderr, errors and anything not in hclog form pass through. */
export function launchBenchPlugin(root: string): Promise<LaunchedPlugin> {
  return launchPlugin({
    path: BENCH_PLUGIN,
    cookieKey: PLEXUM_HANDSHAKE.cookieKey,
    cookieValue: PLEXUM_HANDSHAKE.cookieValue,
    socketDir: root,
    env: { PLEXUM_LOG_LEVEL: "warn", XDG_STATE_HOME: join(root, "xdg-state") },
    stderr: (line) => {
      if (!/"@level":"(warn|info|debug|trace)"/.test(line)) process.stderr.write(`${line}\n`);
    },
  });
}
