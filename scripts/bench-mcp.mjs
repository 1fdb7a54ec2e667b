// `node scripts/bench-mcp.mjs`: P5, the mcp-host bridge round trip (scripts/bench/mcp-bridge-bench.ts).
// Needs the built plugin (`npm run build`).
import { existsSync } from "node:fs";

import { runTs } from "./bench/run-ts.mjs";

if (!existsSync("dist/plexum-openai-provider-plugin")) {
  process.stderr.write(
    "dist/plexum-openai-provider-plugin is missing: run `npm run build` first\n",
  );
  process.exit(1);
}
await runTs("scripts/bench/mcp-bridge-bench.ts");
