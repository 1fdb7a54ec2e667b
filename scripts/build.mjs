// Bundles each entry point into one executable file under dist/, so a daemon can exec it by absolute
// path and Node resolves no modules at start-up.
import { chmod, mkdir, rm } from "node:fs/promises";
import { build } from "esbuild";

const entries = {
  "plexum-openai-provider-plugin": "cmd/plexum-openai-provider-plugin/main.ts",
  "plexum-dev-host": "cmd/plexum-dev-host/main.ts",
};

// An absolute interpreter path: under systemd, PATH rarely holds nvm's or a user's node.
const node = process.env.PLEXUM_NODE_PATH || process.execPath;

await rm("dist", { recursive: true, force: true });
await mkdir("dist", { recursive: true });

for (const [name, entry] of Object.entries(entries)) {
  const outfile = `dist/${name}`;
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: "node",
    target: "node20",
    // CommonJS, so the file keeps working when copied out of this "type": "module" package.
    format: "cjs",
    sourcemap: "linked",
    legalComments: "none",
    logLevel: "warning",
    banner: { js: `#!${node}` },
    define: { "process.env.PLEXUM_BUILD_VERSION": JSON.stringify(process.env.npm_package_version ?? "0.0.0") },
  });
  await chmod(outfile, 0o755);
}
