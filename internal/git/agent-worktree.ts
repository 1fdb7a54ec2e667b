// The worktree policy: an agent's turns run in a git worktree the plugin keeps for it, created
// once with `git worktree add --detach` and reused by every later turn. codex's own --worktree is
// not used: codex 0.169.0 refuses it on resume ("`--worktree` cannot resume an existing session"),
// and a plain resume afterwards runs in the original cwd, not in the worktree.
import { mkdir, realpath, stat } from "node:fs/promises";
import { dirname, resolve } from "node:path";

import type { ProcessRegistry } from "../proc/process-registry.js";
import { gitFailure, type GitOptions, runGit } from "./git-command.js";

export interface WorktreeRequest {
  /** The agent's workspace: inside the repository the worktree belongs to. */
  workspace: string;
  /** Where the agent's worktree lives (or will). */
  path: string;
  /** The commit a new worktree starts from; "" means the workspace's HEAD. */
  baseRef: string;
  timeoutMs?: number;
  git?: string;
  /** Every live process of the plugin (git is killed with them). */
  processes: ProcessRegistry;
}

export interface AgentWorktree {
  /** The worktree's root. */
  path: string;
  /** Where codex runs: the workspace's counterpart inside the worktree. */
  cwd: string;
  created: boolean;
}

export type WorktreeResult = { ok: true; worktree: AgentWorktree } | { ok: false; message: string };

// Hooks of the workspace's repository (post-checkout …) are not the plugin's to run.
const NO_HOOKS = ["-c", "core.hooksPath=/dev/null"];

/** Creates the agent's worktree when missing, or checks that the existing one belongs here. */
export async function ensureAgentWorktree(request: WorktreeRequest): Promise<WorktreeResult> {
  if (request.baseRef.startsWith("-")) {
    return { ok: false, message: `worktree base_ref "${request.baseRef}" must not start with '-'` };
  }
  const repo = await repoOf(request.workspace, request);
  if (typeof repo === "string") {
    return { ok: false, message: `the worktree policy needs a git workspace: ${repo}` };
  }
  const exists = await stat(request.path).then(
    () => true,
    () => false,
  );
  let created = false;
  if (exists) {
    const existing = await repoOf(request.path, request);
    const root = await realpath(request.path);
    if (
      typeof existing === "string" ||
      existing.toplevel !== root ||
      existing.commonDir !== repo.commonDir
    ) {
      return {
        ok: false,
        message: `${request.path} exists but is not a worktree of ${repo.toplevel}; remove it to let the plugin create one`,
      };
    }
  } else {
    // A worktree directory deleted by hand stays registered until pruned, which blocks `add`.
    await runGit(["worktree", "prune"], gitOptions(request.workspace, request));
    await mkdir(dirname(request.path), { recursive: true });
    const addArgs = [
      ...NO_HOOKS,
      "worktree",
      "add",
      "--detach",
      request.path,
      request.baseRef === "" ? "HEAD" : request.baseRef,
    ];
    const added = await runGit(addArgs, gitOptions(request.workspace, request));
    if (added.exitCode !== 0) {
      return { ok: false, message: `could not create the worktree: ${gitFailure(addArgs, added)}` };
    }
    created = true;
  }
  const root = await realpath(request.path);
  const cwd = resolve(root, repo.prefix);
  const cwdIsDirectory = await stat(cwd).then(
    (info) => info.isDirectory(),
    () => false,
  );
  if (!cwdIsDirectory) {
    return {
      ok: false,
      message: `the worktree ${root} has no directory ${repo.prefix} (the workspace's place in the repository)`,
    };
  }
  return { ok: true, worktree: { path: root, cwd, created } };
}

interface RepoFacts {
  toplevel: string;
  commonDir: string;
  /** The directory's path below the top level, "" or ending in "/". */
  prefix: string;
}

async function repoOf(dir: string, request: WorktreeRequest): Promise<RepoFacts | string> {
  const args = ["rev-parse", "--show-toplevel", "--git-common-dir", "--show-prefix"];
  const result = await runGit(args, gitOptions(dir, request));
  if (result.exitCode !== 0) return gitFailure(args, result);
  const [toplevel, commonDir, prefix] = result.stdout.toString("utf8").split("\n");
  if (toplevel === undefined || toplevel === "" || commonDir === undefined) {
    return `${dir} has no working tree`;
  }
  return {
    toplevel: await realpath(toplevel),
    commonDir: await realpath(resolve(dir, commonDir)),
    prefix: prefix ?? "",
  };
}

function gitOptions(cwd: string, request: WorktreeRequest): GitOptions {
  return {
    cwd,
    processes: request.processes,
    ...(request.timeoutMs === undefined ? {} : { timeoutMs: request.timeoutMs }),
    ...(request.git === undefined ? {} : { git: request.git }),
  };
}
