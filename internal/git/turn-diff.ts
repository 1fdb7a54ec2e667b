// What a turn changed in a git workspace. At the start the working tree (tracked and untracked
// files, minus ignored ones) is written as a tree through a private index; at the end again, and
// the two trees are diffed. Uncommitted changes made before the turn are in both trees, so they are
// not attributed to it. New objects go to a private object directory that borrows the repository's
// objects as an alternate: the repository itself is never written to.
import { copyFile, lstat, mkdir } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";

import type { TurnDiff, TurnDiffStatus } from "../core/canonical-event.js";
import type { ProcessRegistry } from "../proc/process-registry.js";
import { gitFailure, type GitResult, runGit } from "./git-command.js";

/** A diff, plus why it is unavailable when it is. */
export interface DiffOutcome {
  diff: TurnDiff;
  /** Set for status "unavailable": what failed. */
  reason?: string;
}

export interface DiffTrackerOptions {
  /** Where codex runs: the workspace or the agent's worktree. */
  cwd: string;
  /** A private directory for the index and objects; the caller removes it. */
  scratchDir: string;
  /** Bound of each git command. */
  timeoutMs?: number;
  git?: string;
  /** Every live process of the plugin (git is killed with them). */
  processes: ProcessRegistry;
}

// git runs the repository's configured fsmonitor hook on `add`; the plugin's snapshots need none.
const SAFE_CONFIG = ["-c", "core.fsmonitor=false", "-c", "core.quotePath=false"];
const FILE_LIST_MAX_BYTES = 4 * 1_048_576;

/** Snapshots the working tree at the start of a turn, and diffs against it at the end. */
export class TurnDiffTracker {
  readonly #options: DiffTrackerOptions;
  readonly #env: Record<string, string>;
  readonly #baseTree: string;

  private constructor(options: DiffTrackerOptions, env: Record<string, string>, baseTree: string) {
    this.#options = options;
    this.#env = env;
    this.#baseTree = baseTree;
  }

  /**
   * Takes the start snapshot. Resolves to a tracker, or to the outcome to report at the end when
   * there is nothing to track (not a git workspace, git missing or failing).
   */
  static async start(options: DiffTrackerOptions): Promise<TurnDiffTracker | DiffOutcome> {
    if (!(await mayBeInRepository(options.cwd))) return { diff: emptyDiff("not_git") };
    const probeArgs = [
      "rev-parse",
      "--is-inside-work-tree",
      "--git-path",
      "index",
      "--git-path",
      "objects",
    ];
    const probe = await git(probeArgs, options, {});
    if (probe.exitCode !== 0 || probe.spawnError !== undefined) {
      if (probe.exitCode === 128 && /not a git repository/i.test(probe.stderr)) {
        return { diff: emptyDiff("not_git") };
      }
      return unavailable(gitFailure(probeArgs, probe));
    }
    const [inside, indexPath, objectsPath] = probe.stdout.toString("utf8").split("\n");
    // Inside a .git directory, or a bare repository: there is no working tree to diff.
    if (inside !== "true" || indexPath === undefined || objectsPath === undefined) {
      return { diff: emptyDiff("not_git") };
    }
    const gitDir = join(options.scratchDir, "git");
    const privateIndex = join(gitDir, "index");
    const privateObjects = join(gitDir, "objects");
    await mkdir(privateObjects, { recursive: true });
    // The real index's stat data lets `add` skip rehashing files that did not change.
    const realIndexCopied = await copyFile(resolve(options.cwd, indexPath), privateIndex).then(
      () => true,
      () => false,
    );
    const env = {
      GIT_INDEX_FILE: privateIndex,
      GIT_OBJECT_DIRECTORY: privateObjects,
      GIT_ALTERNATE_OBJECT_DIRECTORIES: resolve(options.cwd, objectsPath),
    };
    let tree = await snapshot(options, env);
    if (typeof tree !== "string" && realIndexCopied) {
      // e.g. a split index whose shared part does not travel with a copy: start from an empty one.
      await git(["read-tree", "--empty"], options, env);
      tree = await snapshot(options, env);
    }
    if (typeof tree !== "string") return unavailable(tree.reason);
    return new TurnDiffTracker(options, env, tree);
  }

  /** The diff of the working tree now against the start snapshot, cut at maxBytes. */
  async finish(maxBytes: number): Promise<DiffOutcome> {
    const tree = await snapshot(this.#options, this.#env);
    if (typeof tree !== "string") return unavailable(tree.reason);
    if (tree === this.#baseTree) return { diff: emptyDiff("ok") };
    const range = [this.#baseTree, tree];
    const diffArgs = [
      ...SAFE_CONFIG,
      "diff",
      "--no-color",
      "--no-ext-diff",
      "--no-textconv",
      "--find-renames",
      "--src-prefix=a/",
      "--dst-prefix=b/",
      "--relative",
      ...range,
    ];
    const unified = await git(diffArgs, this.#options, this.#env, maxBytes);
    if (unified.exitCode !== 0) return unavailable(gitFailure(diffArgs, unified));
    const namesArgs = [
      ...SAFE_CONFIG,
      "diff",
      "--name-only",
      "-z",
      "--find-renames",
      "--relative",
      ...range,
    ];
    const names = await git(namesArgs, this.#options, this.#env, FILE_LIST_MAX_BYTES);
    if (names.exitCode !== 0) return unavailable(gitFailure(namesArgs, names));
    const truncated = unified.stdoutBytes > maxBytes;
    return {
      diff: {
        status: truncated ? "truncated" : "ok",
        unified: truncated ? cutAtLine(unified.stdout) : unified.stdout.toString("utf8"),
        files: names.stdout
          .toString("utf8")
          .split("\0")
          .filter((name) => name !== ""),
        bytes: unified.stdoutBytes,
      },
    };
  }
}

/** `add -A` of the workspace into the private index, then `write-tree`. */
async function snapshot(
  options: DiffTrackerOptions,
  env: Record<string, string>,
): Promise<string | { reason: string }> {
  // --ignore-errors: an unreadable file is left out instead of failing the snapshot.
  const addArgs = [...SAFE_CONFIG, "add", "--all", "--ignore-errors", "--", "."];
  const added = await git(addArgs, options, env);
  // add exits 1 after skipping unreadable files; the tree is still written.
  if (added.exitCode !== 0 && added.exitCode !== 1) return { reason: gitFailure(addArgs, added) };
  const writeArgs = ["write-tree"];
  const written = await git(writeArgs, options, env);
  const tree = written.stdout.toString("utf8").trim();
  if (written.exitCode !== 0 || !/^[0-9a-f]{40,64}$/.test(tree)) {
    return { reason: gitFailure(writeArgs, written) };
  }
  return tree;
}

function git(
  args: readonly string[],
  options: DiffTrackerOptions,
  env: Record<string, string>,
  maxStdoutBytes?: number,
): Promise<GitResult> {
  return runGit(args, {
    cwd: options.cwd,
    env,
    processes: options.processes,
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    ...(options.git === undefined ? {} : { git: options.git }),
    ...(maxStdoutBytes === undefined ? {} : { maxStdoutBytes }),
  });
}

/**
 * False only when no directory from `cwd` up to `/` has a `.git` entry: git's discovery (runGit
 * clears the GIT_* variables that could point it elsewhere) would then find no repository, and the
 * turn is spared spawning git to hear it. Anything unclear (a `.git` found, a permission error) is
 * left to git.
 */
async function mayBeInRepository(cwd: string): Promise<boolean> {
  for (let dir = resolve(cwd); ; dir = dirname(dir)) {
    try {
      await lstat(join(dir, ".git"));
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") return true;
    }
    if (dirname(dir) === dir) return false;
  }
}

function emptyDiff(status: TurnDiffStatus): TurnDiff {
  return { status, unified: "", files: [], bytes: 0 };
}

function unavailable(reason: string): DiffOutcome {
  return { diff: emptyDiff("unavailable"), reason };
}

// A cut diff ends after its last complete line, so it never splits a UTF-8 sequence.
function cutAtLine(kept: Buffer): string {
  const end = kept.lastIndexOf(0x0a);
  return kept.subarray(0, end + 1).toString("utf8");
}
