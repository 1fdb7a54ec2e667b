// Bundles each entry point into one executable file under dist/, so a daemon can exec it by absolute
// path and Node resolves no modules at start-up.
import { chmod, mkdir, readFile, rm, writeFile } from "node:fs/promises";

import { build } from "esbuild";

import { builtinDynamicImports, packFastStart, prependHeader } from "./fast-start.mjs";
import { launcherHeader } from "./launcher.mjs";
import { thirdPartyNotices } from "./third-party-notices.mjs";

const entries = {
  "plexum-openai-provider-plugin": "cmd/plexum-openai-provider-plugin/main.ts",
  "plexum-dev-host": "cmd/plexum-dev-host/main.ts",
};

// Every executable starts with the launcher: sh that runs the file with $PLEXUM_NODE_PATH or the
// first node on PATH (with MALLOC_ARENA_MAX=2), then a check of the node's version. Nothing in
// the file depends on the node or the machine that built it.
const header = launcherHeader();

const { version } = JSON.parse(await readFile("package.json", "utf8"));

// `--outdir DIR` builds elsewhere (benchmark experiments), leaving dist/ to the tests that use it.
const outdirFlag = process.argv.indexOf("--outdir");
const outdir = outdirFlag === -1 ? "dist" : process.argv[outdirFlag + 1];
if (outdir === undefined || outdir === "") throw new Error("--outdir needs a directory");
// `--no-fast-start` leaves the plugin a plain bundle (the benchmark's before/after comparison).
const fastStart = !process.argv.includes("--no-fast-start");

// grpc-js requires @grpc/proto-loader (and through it protobufjs, ~300 KB) only inside
// getChannelzServiceDefinition() and ORCA's loadOrcaProto(), to read .proto files from its own
// package directory, which a bundle does not have anyway. Our services come from protobuf-es and
// we use neither channelz nor ORCA; the stub throws if anything ever calls it.
const protoLoaderStub = {
  name: "proto-loader-stub",
  setup(pluginBuild) {
    pluginBuild.onResolve({ filter: /^@grpc\/proto-loader$/ }, () => ({
      path: "@grpc/proto-loader",
      namespace: "proto-loader-stub",
    }));
    pluginBuild.onLoad({ filter: /.*/, namespace: "proto-loader-stub" }, () => ({
      contents:
        "module.exports = { loadSync() { throw new Error(" +
        '"@grpc/proto-loader is not bundled: grpc-js channelz and ORCA are unavailable"); } };',
      loader: "js",
    }));
  },
};

await rm(outdir, { recursive: true, force: true });
await mkdir(outdir, { recursive: true });
// Node reads extensionless files inside this "type": "module" package as ESM; the bundles are CJS.
await writeFile(`${outdir}/package.json`, `${JSON.stringify({ type: "commonjs" })}\n`);

const metafiles = [];
for (const [name, entry] of Object.entries(entries)) {
  const outfile = `${outdir}/${name}`;
  const result = await build({
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
    plugins: [protoLoaderStub, builtinDynamicImports],
    // The packages that went in, for the third-party notices.
    metafile: true,
    // import.meta has no meaning in CJS; give it the bundle's own location, which is what code that
    // resolves packages relative to itself wants.
    banner: {
      js: `"use strict";\nconst __import_meta_url = require("node:url").pathToFileURL(__filename).href;`,
    },
    define: {
      PLEXUM_PLUGIN_VERSION: JSON.stringify(version),
      "import.meta.url": "__import_meta_url",
    },
  });
  if (fastStart && name === "plexum-openai-provider-plugin") {
    await packFastStart({ file: outfile, header });
  } else {
    await prependHeader({ file: outfile, header });
  }
  await chmod(outfile, 0o755);
  metafiles.push(result.metafile);
}
// legalComments "none" drops the licence comments of what is bundled; the notices carry them.
await writeFile(`${outdir}/THIRD_PARTY_NOTICES.md`, await thirdPartyNotices(metafiles, "."));
