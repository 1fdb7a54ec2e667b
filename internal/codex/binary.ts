// Finds the codex executable to spawn and checks its version. Always resolves to the native binary:
// the npm launcher (bin/codex.js) adds a node process in between on Node 20, so signals, process
// groups and exit codes would belong to the wrong process.
import { constants, existsSync, readFileSync } from "node:fs";
import { access, realpath, stat } from "node:fs/promises";
import { createRequire } from "node:module";
import { basename, delimiter, dirname, isAbsolute, join, resolve } from "node:path";

import {
  type CodexFeature,
  codexFeatures,
  missingFeatureNotes,
  untestedCodexDiagnostic,
} from "./codex-capabilities.js";
import { compareVersions, MIN_CODEX_VERSION } from "./codex-version.js";
import type { CodexVersionProbes } from "./version-probe.js";

export type CodexBinarySource = "config" | "path" | "bundled" | "none";

/** What the plugin knows about the codex it will run. `ready` false means turns fail fast. */
export interface CodexBinaryStatus {
  ready: boolean;
  /** The native executable to spawn; "" when none was found. */
  path: string;
  source: CodexBinarySource;
  /** e.g. "0.169.0"; "" when unknown. */
  version: string;
  /** Why the binary is not usable and what to do about it; "" when ready. */
  degradedReason: string;
  code?: "CODEX_BINARY_NOT_FOUND" | "CODEX_VERSION_UNSUPPORTED";
  /** vendor/<triple>/codex-path (bundled helpers such as rg) when it sits next to the binary. */
  helperPathDir?: string;
  /** The gated features this codex has (codex-capabilities.ts); [] when its version is unknown. */
  features: CodexFeature[];
  /** What works differently with this codex (an untested version, missing features); [] if nothing. */
  notes: string[];
}

export interface ResolveCodexBinaryOptions {
  /** Config `binary`: absolute path, relative path, or a bare name looked up on PATH. */
  binary?: string | undefined;
  versionProbeMs: number;
  /** The owner's `codex --version` probes (one per binary build). */
  probes: CodexVersionProbes;
  env?: NodeJS.ProcessEnv;
  /** Finds the bundled native binary; replaceable in tests. */
  findBundled?: () => string | undefined;
}

interface PlatformTarget {
  triple: string;
  packageName: string;
  executable: string;
}

// Mirrors the table in @openai/codex/bin/codex.js.
const TARGETS: Record<string, PlatformTarget> = {
  "linux-x64": target("x86_64-unknown-linux-musl", "@openai/codex-linux-x64"),
  "linux-arm64": target("aarch64-unknown-linux-musl", "@openai/codex-linux-arm64"),
  "android-x64": target("x86_64-unknown-linux-musl", "@openai/codex-linux-x64"),
  "android-arm64": target("aarch64-unknown-linux-musl", "@openai/codex-linux-arm64"),
  "darwin-x64": target("x86_64-apple-darwin", "@openai/codex-darwin-x64"),
  "darwin-arm64": target("aarch64-apple-darwin", "@openai/codex-darwin-arm64"),
  "win32-x64": target("x86_64-pc-windows-msvc", "@openai/codex-win32-x64", "codex.exe"),
  "win32-arm64": target("aarch64-pc-windows-msvc", "@openai/codex-win32-arm64", "codex.exe"),
};

function target(triple: string, packageName: string, executable = "codex"): PlatformTarget {
  return { triple, packageName, executable };
}

function currentTarget(): PlatformTarget | undefined {
  return TARGETS[`${process.platform}-${process.arch}`];
}

/** Where `npm i -g @openai/codex` puts the native binary, under `npm root -g`. */
export function globalNativeBinaryPath(npmRoot: string): string | undefined {
  const platform = currentTarget();
  if (platform === undefined) return undefined;
  return join(
    npmRoot,
    "@openai/codex/node_modules",
    platform.packageName,
    "vendor",
    platform.triple,
    "bin",
    platform.executable,
  );
}

// The README's Install section, in one sentence.
const INSTALL_HINT =
  `install codex (\`npm i -g @openai/codex@${MIN_CODEX_VERSION}\`) and set \`binary\` in the ` +
  `plugin config to its native binary, ${globalNativeBinaryPath("$(npm root -g)") ?? "inside the package"} ` +
  "(README, Install)";

/** Resolves config `binary` → `codex` on PATH → the bundled package. Never throws. */
export async function resolveCodexBinary(
  options: ResolveCodexBinaryOptions,
): Promise<CodexBinaryStatus> {
  const env = options.env ?? process.env;
  try {
    const located = await locate(options, env);
    if ("reason" in located) return notReady(located.source, located.path, located.reason);
    return await check(located.path, located.source, options, env);
  } catch (error) {
    return notReady("none", "", `could not resolve codex: ${String(error)}; ${INSTALL_HINT}`);
  }
}

type Located = { path: string; source: CodexBinarySource } | LocateFailure;
interface LocateFailure {
  path: string;
  source: CodexBinarySource;
  reason: string;
}

async function locate(
  options: ResolveCodexBinaryOptions,
  env: NodeJS.ProcessEnv,
): Promise<Located> {
  if (options.binary !== undefined) {
    // An explicit but broken path is reported rather than silently replaced by another codex.
    const given = options.binary;
    const candidate = isBareName(given) ? await findOnPath(given, env) : resolve(given);
    if (candidate === undefined) {
      return {
        path: "",
        source: "config",
        reason: `config binary "${given}" is not on PATH; ${INSTALL_HINT}`,
      };
    }
    const problem = await checkExecutableFile(candidate);
    if (problem !== undefined) {
      return {
        path: candidate,
        source: "config",
        reason: `config binary ${problem}; ${INSTALL_HINT}`,
      };
    }
    return { path: await toNative(candidate), source: "config" };
  }
  const onPath = await findOnPath("codex", env);
  if (onPath !== undefined) return { path: await toNative(onPath), source: "path" };
  const bundled = (options.findBundled ?? findBundledBinary)();
  if (bundled !== undefined) return { path: bundled, source: "bundled" };
  return { path: "", source: "none", reason: `codex was not found; ${INSTALL_HINT}` };
}

async function check(
  path: string,
  source: CodexBinarySource,
  options: ResolveCodexBinaryOptions,
  env: NodeJS.ProcessEnv,
): Promise<CodexBinaryStatus> {
  const problem = await checkExecutableFile(path);
  if (problem !== undefined) return notReady(source, path, `codex ${problem}; ${INSTALL_HINT}`);
  const probe = await options.probes.version(path, options.versionProbeMs, env);
  if ("reason" in probe) return notReady(source, path, `${probe.reason}; ${INSTALL_HINT}`);
  const untested = untestedCodexDiagnostic(probe.version);
  const status: CodexBinaryStatus = {
    ready: true,
    path,
    source,
    version: probe.version,
    degradedReason: "",
    features: codexFeatures(probe.version),
    notes: [
      ...(untested === undefined ? [] : [untested.summary]),
      ...missingFeatureNotes(probe.version),
    ],
  };
  const helpers = helperPathDirFor(path);
  if (helpers !== undefined) status.helperPathDir = helpers;
  if (compareVersions(probe.version, MIN_CODEX_VERSION) < 0) {
    return {
      ...status,
      ready: false,
      notes: [],
      code: "CODEX_VERSION_UNSUPPORTED",
      degradedReason:
        `codex ${probe.version} at ${path} is older than the minimum ${MIN_CODEX_VERSION}; ` +
        `upgrade it (\`npm i -g @openai/codex@${MIN_CODEX_VERSION}\` or newer) or point \`binary\` ` +
        "at a newer codex (README, Install)",
    };
  }
  return status;
}

function notReady(source: CodexBinarySource, path: string, reason: string): CodexBinaryStatus {
  return {
    ready: false,
    path,
    source,
    version: "",
    degradedReason: reason,
    code: "CODEX_BINARY_NOT_FOUND",
    features: [],
    notes: [],
  };
}

function isBareName(value: string): boolean {
  return !value.includes("/") && !value.includes("\\") && !isAbsolute(value);
}

/** Why `path` cannot be executed, or undefined when it is an executable regular file. */
export async function checkExecutableFile(path: string): Promise<string | undefined> {
  let info;
  try {
    info = await stat(path);
  } catch {
    return `${path} does not exist`;
  }
  if (!info.isFile()) return `${path} is not a file`;
  try {
    await access(path, constants.X_OK);
  } catch {
    return `${path} is not executable (chmod +x it)`;
  }
  return undefined;
}

async function findOnPath(name: string, env: NodeJS.ProcessEnv): Promise<string | undefined> {
  const searchPath = env["PATH"] ?? "";
  for (const directory of searchPath.split(delimiter)) {
    if (directory === "" || !isAbsolute(directory)) continue;
    const candidate = join(directory, name);
    if ((await checkExecutableFile(candidate)) === undefined) return candidate;
  }
  return undefined;
}

/** Maps the @openai/codex npm launcher to the native binary it would start; other paths pass. */
export async function toNative(path: string): Promise<string> {
  const real = await realpath(path);
  const launcherRoot = npmLauncherRoot(real);
  if (launcherRoot === undefined) return real;
  const native = nativeBinaryNear(real, launcherRoot);
  return native ?? real;
}

// The launcher is <root>/bin/codex.js inside a package named @openai/codex. Only that file is
// mapped: a config-given node script (a wrapper or a test fake) is spawned as it is.
function npmLauncherRoot(realPath: string): string | undefined {
  if (basename(realPath) !== "codex.js" || basename(dirname(realPath)) !== "bin") return undefined;
  const root = dirname(dirname(realPath));
  try {
    const manifest = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as {
      name?: unknown;
    };
    return manifest.name === "@openai/codex" ? root : undefined;
  } catch {
    return undefined;
  }
}

function nativeBinaryNear(launcherPath: string, launcherRoot: string): string | undefined {
  const platform = currentTarget();
  if (platform === undefined) return undefined;
  const candidates: string[] = [];
  try {
    // Resolved from the launcher, so a global install finds its own platform package.
    const manifest = createRequire(launcherPath).resolve(`${platform.packageName}/package.json`);
    candidates.push(...vendorCandidates(dirname(manifest), platform));
  } catch {
    // Older layouts vendor the binary inside @openai/codex itself.
  }
  candidates.push(...vendorCandidates(launcherRoot, platform));
  return candidates.find((candidate) => existsSync(candidate));
}

function vendorCandidates(packageRoot: string, platform: PlatformTarget): string[] {
  const vendor = join(packageRoot, "vendor", platform.triple);
  // bin/ is the 0.169.0 layout; codex/ is the legacy one the SDK also accepts.
  return [join(vendor, "bin", platform.executable), join(vendor, "codex", platform.executable)];
}

/** The native codex of the pinned @openai/codex dependency, if installed for this platform. */
export function findBundledBinary(): string | undefined {
  const platform = currentTarget();
  if (platform === undefined) return undefined;
  const require = createRequire(import.meta.url);
  const roots: string[] = [];
  try {
    roots.push(dirname(require.resolve(`${platform.packageName}/package.json`)));
  } catch {
    // Not hoisted; try through @openai/codex below.
  }
  try {
    const codexManifest = require.resolve("@openai/codex/package.json");
    const nested = createRequire(codexManifest).resolve(`${platform.packageName}/package.json`);
    roots.push(dirname(nested));
    roots.push(dirname(codexManifest));
  } catch {
    // @openai/codex itself is not installed.
  }
  for (const root of roots) {
    const found = vendorCandidates(root, platform).find((candidate) => existsSync(candidate));
    if (found !== undefined) return found;
  }
  return undefined;
}

function helperPathDirFor(nativePath: string): string | undefined {
  const candidate = join(dirname(dirname(nativePath)), "codex-path");
  return basename(dirname(nativePath)) === "bin" && existsSync(candidate) ? candidate : undefined;
}
