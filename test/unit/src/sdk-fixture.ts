// Builds test/fixtures/sdk-plugin.ts into one executable file, the way scripts/build.mjs bundles the
// real plugin, for the process-level SDK tests.
import { chmod } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

import { build } from "esbuild";

/** The fixture's magic cookie variable. */
export const FIXTURE_COOKIE_KEY = "SDK_FIXTURE_COOKIE";
/** The fixture's magic cookie value. */
export const FIXTURE_COOKIE_VALUE = "4f1c2b9e-sdk-fixture";

/** Bundles the fixture plugin into `outDir` and returns the executable's path. */
export async function buildSdkFixture(outDir: string): Promise<string> {
  const outfile = join(outDir, "sdk-plugin");
  await build({
    entryPoints: [fileURLToPath(new URL("../../fixtures/sdk-plugin.ts", import.meta.url))],
    outfile,
    bundle: true,
    platform: "node",
    target: "node20",
    format: "cjs",
    banner: { js: `#!${process.execPath}` },
    logLevel: "silent",
  });
  await chmod(outfile, 0o755);
  return outfile;
}
