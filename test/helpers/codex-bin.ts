// Locates the native codex binary for tests, benchmarks and soaks: $CODEX_BIN, else the platform
// package that the pinned @openai/codex installs. Never PATH: a run must use the codex it names.
// Tests spawn it directly, not through the Node launcher, so pids and exit codes are codex's own.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";

import { parseCodexVersion } from "../../internal/codex/codex-version.js";

// The launcher's (bin/codex.js) mapping from Node's platform/arch to package and target triple.
const TARGETS: Readonly<Record<string, { readonly pkg: string; readonly triple: string }>> = {
  "linux-x64": { pkg: "@openai/codex-linux-x64", triple: "x86_64-unknown-linux-musl" },
  "linux-arm64": { pkg: "@openai/codex-linux-arm64", triple: "aarch64-unknown-linux-musl" },
  "darwin-x64": { pkg: "@openai/codex-darwin-x64", triple: "x86_64-apple-darwin" },
  "darwin-arm64": { pkg: "@openai/codex-darwin-arm64", triple: "aarch64-apple-darwin" },
};

/** Where the binary came from. */
export type CodexBinaryOrigin = "CODEX_BIN" | "pinned";

/** The result of looking for the binary: a path, or why there is none. */
export type CodexBinaryLookup =
  | { readonly found: true; readonly path: string; readonly origin: CodexBinaryOrigin }
  | { readonly found: false; readonly reason: string; readonly origin: CodexBinaryOrigin };

/** Finds the codex binary without throwing, so suites can skip with the reason. */
export function findCodexBinary(env: NodeJS.ProcessEnv = process.env): CodexBinaryLookup {
  const fromEnv = env["CODEX_BIN"];
  if (fromEnv !== undefined && fromEnv !== "") {
    const path = resolve(fromEnv);
    return existsSync(path)
      ? { found: true, path, origin: "CODEX_BIN" }
      : { found: false, reason: `CODEX_BIN=${fromEnv} does not exist`, origin: "CODEX_BIN" };
  }
  const origin = "pinned";
  const target = TARGETS[`${process.platform}-${process.arch}`];
  if (target === undefined) {
    return {
      found: false,
      reason: `no codex package for ${process.platform}-${process.arch}`,
      origin,
    };
  }
  const require = createRequire(import.meta.url);
  let packageDir: string;
  try {
    packageDir = dirname(require.resolve(`${target.pkg}/package.json`));
  } catch {
    return { found: false, reason: `${target.pkg} is not installed (npm install?)`, origin };
  }
  const path = join(packageDir, "vendor", target.triple, "bin", "codex");
  return existsSync(path)
    ? { found: true, path, origin }
    : { found: false, reason: `${path} is missing from ${target.pkg}`, origin };
}

/** The codex a real-codex test runs: its path, version and where it came from. */
export interface CodexUnderTest {
  readonly path: string;
  /** e.g. "0.169.0". */
  readonly version: string;
  readonly origin: CodexBinaryOrigin;
}

/** `codex --version` of `path`; throws when it does not answer in codex's format. */
export function codexVersionOf(path: string): string {
  const run = spawnSync(path, ["--version"], { encoding: "utf8", timeout: 30_000 });
  const version = parseCodexVersion(run.stdout ?? "");
  if (version === undefined) {
    throw new Error(
      `\`${path} --version\` did not print a codex-cli version ` +
        `(status ${run.status}, ${run.error?.message ?? (run.stderr ?? "").slice(-300)})`,
    );
  }
  return version;
}

const versions = new Map<string, string>();

/**
 * The codex under test. Throws when CODEX_BIN names a missing file (a run pointed at one codex
 * must not quietly test another); undefined when no codex is installed for this platform.
 */
export function codexUnderTest(env: NodeJS.ProcessEnv = process.env): CodexUnderTest | undefined {
  const lookup = findCodexBinary(env);
  if (!lookup.found) {
    if (lookup.origin === "CODEX_BIN") throw new Error(lookup.reason);
    return undefined;
  }
  let version = versions.get(lookup.path);
  if (version === undefined) {
    version = codexVersionOf(lookup.path);
    versions.set(lookup.path, version);
  }
  return { path: lookup.path, version, origin: lookup.origin };
}

/** One line naming the codex under test, for logs and reports. */
export function describeCodex(codex: CodexUnderTest | undefined): string {
  if (codex === undefined) return "no codex binary for this platform (real-codex tests skip)";
  const from = codex.origin === "CODEX_BIN" ? "from CODEX_BIN" : "the pinned @openai/codex";
  return `${codex.path} (codex-cli ${codex.version}, ${from})`;
}

/** The codex under test, or an error saying why there is none. */
export function requireCodexUnderTest(env: NodeJS.ProcessEnv = process.env): CodexUnderTest {
  const codex = codexUnderTest(env);
  if (codex === undefined) throw new Error(`no codex to test: ${describeCodex(codex)}`);
  return codex;
}
