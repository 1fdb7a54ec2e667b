// Bundles a TypeScript benchmark (scripts/bench/*.ts) with esbuild, packages left external, into
// node_modules/.cache/plexum-bench, and runs it in this process.
import { mkdir } from "node:fs/promises";
import { basename, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";

import { build } from "esbuild";

export async function runTs(entry) {
  const outDir = resolve("node_modules/.cache/plexum-bench");
  await mkdir(outDir, { recursive: true });
  const outfile = join(outDir, `${basename(entry, ".ts")}.mjs`);
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: "node",
    target: "node20",
    format: "esm",
    packages: "external",
    logLevel: "warning",
  });
  await import(pathToFileURL(outfile).href);
}
