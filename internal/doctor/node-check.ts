// The doctor's view of the launch: which node the executable's launcher (scripts/launcher.mjs)
// runs, here and under systemd's default PATH, and whether that node is supported. The lookup is
// the launcher's own, written again in TypeScript; test/unit/internal/doctor/node-check.test.ts
// holds the two against each other.
import { constants } from "node:fs";
import { access, realpath, stat } from "node:fs/promises";
import { delimiter, isAbsolute, join } from "node:path";

import type { ProcessRegistry } from "../proc/process-registry.js";
import { runCommand } from "../proc/run-command.js";
import type { CheckResult, CheckStatus } from "./checks.js";

/** PATH of a systemd service that sets none (systemd's compiled-in default). */
export const SYSTEMD_DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

const SUPPORTED = "Node.js 22 or 24 (20.17 or newer works)";

/** The node the launcher would run with `env`, or why it would run none. */
export type LauncherNode =
  { path: string; source: "PLEXUM_NODE_PATH" | "PATH" } | { path: undefined; problem: string };

/** The launcher's choice: $PLEXUM_NODE_PATH, else the first executable `node` on PATH. */
export async function launcherNode(env: NodeJS.ProcessEnv): Promise<LauncherNode> {
  const configured = env["PLEXUM_NODE_PATH"];
  if (configured !== undefined && configured !== "") {
    if (await isExecutableFile(configured)) return { path: configured, source: "PLEXUM_NODE_PATH" };
    return {
      path: undefined,
      problem: `PLEXUM_NODE_PATH=${configured} is not an executable file`,
    };
  }
  const searchPath = env["PATH"] ?? "";
  for (const dir of searchPath.split(delimiter)) {
    // Relative entries are skipped: a `node` in whatever the working directory is never runs.
    if (!isAbsolute(dir)) continue;
    const candidate = join(dir, "node");
    if (await isExecutableFile(candidate)) return { path: candidate, source: "PATH" };
  }
  return {
    path: undefined,
    problem: `PLEXUM_NODE_PATH is not set and no directory on PATH (${searchPath}) holds a node`,
  };
}

/** Whether a node version is one the plugin runs on, and what to say about it. */
export function nodeSupport(version: string): { status: CheckStatus; note: string } {
  const [major = 0, minor = 0] = version.replace(/^v/, "").split(".").map(Number);
  if (major < 20 || (major === 20 && minor < 17)) {
    return { status: "fail", note: `too old: the plugin needs ${SUPPORTED}` };
  }
  if (major === 20) {
    return {
      status: "warn",
      note: "supported, but Node 20 reached end of life on 2026-04-30; move to 22 or 24",
    };
  }
  if (major === 22 || major === 24) return { status: "ok", note: "supported" };
  return { status: "warn", note: `not tested: the plugin is tested on 20.17+, 22 and 24` };
}

export interface NodeCheckOptions {
  env: NodeJS.ProcessEnv;
  /** The node running this process and its version (process.execPath, process.version). */
  current?: { path: string; version: string } | undefined;
  /** Where the probe of another node runs (killed with the doctor's other commands). */
  processes: ProcessRegistry;
  /** `node --version` of another node; replaceable in tests. */
  probeVersion?: (node: string) => Promise<string>;
  /** The daemon's PATH to compare with (default: systemd's). */
  daemonPath?: string;
}

/**
 * Two lines: the node the launcher runs in this environment (the doctor's own, when started
 * through the executable), and the one a systemd service with the default PATH would run.
 */
export async function nodeChecks(options: NodeCheckOptions): Promise<CheckResult[]> {
  const current = options.current ?? { path: process.execPath, version: process.version };
  const probe =
    options.probeVersion ?? ((node: string) => probeNodeVersion(node, options.processes));
  const here = await launcherNode(options.env);
  const results: CheckResult[] = [];
  if (here.path === undefined) {
    results.push({
      name: "node",
      status: "fail",
      detail: `the launcher would find no node: ${here.problem}`,
      remedy: `install ${SUPPORTED}, or set PLEXUM_NODE_PATH to a node binary`,
    });
  } else {
    results.push(await describeNode("node", here.path, here.source, current, probe));
  }

  if (here.path !== undefined && here.source === "PLEXUM_NODE_PATH") {
    results.push({
      name: "node under systemd",
      status: "ok",
      detail:
        `PLEXUM_NODE_PATH is set here; give the daemon's unit the same ` +
        `(Environment=PLEXUM_NODE_PATH=${here.path})`,
    });
    return results;
  }
  const daemonPath = options.daemonPath ?? SYSTEMD_DEFAULT_PATH;
  const daemon = await launcherNode({ PATH: daemonPath });
  const remedyNode = here.path ?? "/path/to/node";
  if (daemon.path === undefined) {
    results.push({
      name: "node under systemd",
      status: "warn",
      detail: `a systemd service with the default PATH (${daemonPath}) would find no node`,
      remedy: `set Environment=PLEXUM_NODE_PATH=${remedyNode} in the daemon's unit`,
    });
    return results;
  }
  if (here.path !== undefined && (await sameFile(here.path, daemon.path))) {
    results.push({
      name: "node under systemd",
      status: "ok",
      detail: `systemd's default PATH finds the same node (${daemon.path})`,
    });
    return results;
  }
  const line = await describeNode("node under systemd", daemon.path, "PATH", current, probe);
  line.detail = `with systemd's default PATH the daemon would run another node: ${line.detail}`;
  // A warning even for an unusable node: the daemon's real environment is not known here.
  line.status = "warn";
  line.remedy = `set Environment=PLEXUM_NODE_PATH=${remedyNode} in the daemon's unit to run this one`;
  results.push(line);
  return results;
}

async function describeNode(
  name: string,
  path: string,
  source: "PLEXUM_NODE_PATH" | "PATH",
  current: { path: string; version: string },
  probe: (node: string) => Promise<string>,
): Promise<CheckResult> {
  const how = source === "PATH" ? "the first node on PATH" : "PLEXUM_NODE_PATH";
  let version: string;
  try {
    version = (await sameFile(path, current.path)) ? current.version : await probe(path);
  } catch (error) {
    return {
      name,
      status: "fail",
      detail: `${path} (${how}) did not report a version: ${String(error)}`,
      remedy: `point PLEXUM_NODE_PATH at a working node: ${SUPPORTED}`,
    };
  }
  const support = nodeSupport(version);
  const result: CheckResult = {
    name,
    status: support.status,
    detail: `node ${version} at ${path} (${how}): ${support.note}`,
  };
  if (support.status !== "ok") {
    result.remedy = `install ${SUPPORTED}, and put it first on PATH or set PLEXUM_NODE_PATH to it`;
  }
  return result;
}

/** `node --version` of another node binary, bounded. */
export async function probeNodeVersion(node: string, processes: ProcessRegistry): Promise<string> {
  const result = await runCommand(node, ["--version"], {
    env: { PATH: process.env["PATH"] ?? "" },
    timeoutMs: 10_000,
    processes,
  });
  const version = result.stdout.toString("utf8").trim();
  if (result.spawnError !== undefined) throw result.spawnError;
  if (result.exitCode !== 0) throw new Error(`exited ${result.exitCode ?? "on a signal"}`);
  if (!/^v\d+\.\d+\.\d+/.test(version)) throw new Error(`unexpected output ${version}`);
  return version;
}

async function isExecutableFile(path: string): Promise<boolean> {
  try {
    if (!(await stat(path)).isFile()) return false;
    await access(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

async function sameFile(a: string, b: string): Promise<boolean> {
  try {
    return (await realpath(a)) === (await realpath(b));
  } catch {
    return false;
  }
}
