// Locates the native codex binary for tests: $CODEX_BIN, else the platform package that
// @openai/codex installs. Tests spawn it directly, not through the Node launcher, so pids and
// exit codes are codex's own.
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

// The launcher's (bin/codex.js) mapping from Node's platform/arch to package and target triple.
const TARGETS: Readonly<Record<string, { readonly pkg: string; readonly triple: string }>> = {
  "linux-x64": { pkg: "@openai/codex-linux-x64", triple: "x86_64-unknown-linux-musl" },
  "linux-arm64": { pkg: "@openai/codex-linux-arm64", triple: "aarch64-unknown-linux-musl" },
  "darwin-x64": { pkg: "@openai/codex-darwin-x64", triple: "x86_64-apple-darwin" },
  "darwin-arm64": { pkg: "@openai/codex-darwin-arm64", triple: "aarch64-apple-darwin" },
};

/** The result of looking for the binary: a path, or why there is none. */
export type CodexBinaryLookup =
  | { readonly found: true; readonly path: string }
  | { readonly found: false; readonly reason: string };

/** Finds the codex binary without throwing, so suites can skip with the reason. */
export function findCodexBinary(): CodexBinaryLookup {
  const fromEnv = process.env["CODEX_BIN"];
  if (fromEnv !== undefined && fromEnv !== "") {
    return existsSync(fromEnv)
      ? { found: true, path: fromEnv }
      : { found: false, reason: `CODEX_BIN=${fromEnv} does not exist` };
  }
  const target = TARGETS[`${process.platform}-${process.arch}`];
  if (target === undefined) {
    return { found: false, reason: `no codex package for ${process.platform}-${process.arch}` };
  }
  const require = createRequire(import.meta.url);
  let packageDir: string;
  try {
    packageDir = dirname(require.resolve(`${target.pkg}/package.json`));
  } catch {
    return { found: false, reason: `${target.pkg} is not installed (npm install?)` };
  }
  const path = join(packageDir, "vendor", target.triple, "bin", "codex");
  return existsSync(path)
    ? { found: true, path }
    : { found: false, reason: `${path} is missing from ${target.pkg}` };
}
