// Compiles the SDK in ../../src (what src/index.ts reaches, nothing else) into dist/ as ESM with
// .d.ts files, using the repository's TypeScript. The application's protocol (src/gen/plexum) is
// not part of the package, and the build fails if anything pulls it in.
import { execFileSync } from "node:child_process";
import { existsSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const tsc = createRequire(join(here, "../../package.json")).resolve("typescript/bin/tsc");
rmSync(join(here, "dist"), { recursive: true, force: true });
execFileSync(process.execPath, [tsc, "-p", join(here, "tsconfig.build.json")], {
  stdio: "inherit",
});
if (existsSync(join(here, "dist/gen/plexum"))) {
  throw new Error("the Plexum provider protocol leaked into the SDK package (dist/gen/plexum)");
}
