// `node scripts/bench-mcp.mjs`: the mcp-host bridge round-trip benchmark (scripts/bench/). Needs the
// built plugin (`npm run build`). The TypeScript host side is bundled on the fly with esbuild.
import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";

import { build } from "esbuild";

if (!existsSync("dist/plexum-openai-provider-plugin")) {
  process.stderr.write(
    "dist/plexum-openai-provider-plugin is missing: run `npm run build` first\n",
  );
  process.exit(1);
}
const outDir = resolve("node_modules/.cache/plexum-bench");
await mkdir(outDir, { recursive: true });
const outfile = join(outDir, "mcp-bridge-bench.mjs");
await build({
  entryPoints: ["scripts/bench/mcp-bridge-bench.ts"],
  outfile,
  bundle: true,
  platform: "node",
  target: "node20",
  format: "esm",
  packages: "external",
  logLevel: "warning",
});
await import(pathToFileURL(outfile).href);
