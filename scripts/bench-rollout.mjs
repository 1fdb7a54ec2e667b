// `node scripts/bench-rollout.mjs`: the rollout mirror and Consume benchmark (scripts/bench/
// rollout-bench.ts) on a synthetic 100 MB rollout; BENCH_ROLLOUT_MB changes the size. The
// TypeScript is bundled on the fly with esbuild.
import { mkdir } from "node:fs/promises";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";

import { build } from "esbuild";

const outDir = resolve("node_modules/.cache/plexum-bench");
await mkdir(outDir, { recursive: true });
const outfile = join(outDir, "rollout-bench.mjs");
await build({
  entryPoints: ["scripts/bench/rollout-bench.ts"],
  outfile,
  bundle: true,
  platform: "node",
  target: "node20",
  format: "esm",
  packages: "external",
  logLevel: "warning",
});
await import(pathToFileURL(outfile).href);
