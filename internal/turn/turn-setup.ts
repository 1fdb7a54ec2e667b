// What a turn prepares on disk before codex starts, and takes down after it exits: the turn's
// private scratch directory (staged images, the output schema file, the diff snapshot's index and
// objects), the agent's worktree when the policy asks for one, and the start snapshot of the diff.
import { lstat, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { agentDirName } from "../core/agent-id.js";
import { type TurnError, turnError } from "../core/turn-error.js";
import { ensureAgentWorktree } from "../git/agent-worktree.js";
import { type DiffOutcome, TurnDiffTracker } from "../git/turn-diff.js";
import type { ProcessRegistry } from "../proc/process-registry.js";
import { stageImages } from "./turn-images.js";
import type { TurnPlan } from "./turn-plan.js";

export interface TurnSetup {
  /** codex's cwd and `-C`: the workspace, or its place in the agent's worktree. */
  cwd: string;
  /** The agent's worktree root; "" when the turn runs in the workspace. */
  worktreePath: string;
  /** Files for --image, in the prompt's order. */
  imagePaths: string[];
  /** The --output-schema file. */
  outputSchemaPath: string | undefined;
  /** The diff's start snapshot, or the outcome to report; undefined when diffs are off. */
  diff: TurnDiffTracker | DiffOutcome | undefined;
  /** Removes the scratch directory; never throws. */
  cleanup(): Promise<void>;
}

export type SetupResult = { ok: true; setup: TurnSetup } | { ok: false; error: TurnError };

/** `<state_dir>/agents/<agent>/<name>`: the per-agent places this module uses. */
export function agentPath(stateDir: string, agentId: string, name: string): string {
  return join(stateDir, "agents", agentDirName(agentId), name);
}

const SCRATCH_PREFIX = "plexum-turn-";
const SCRATCH_NAME = /^plexum-turn-(\d+)-/;

/**
 * Removes the scratch directories of plugin processes that are gone (a SIGKILLed plugin cannot
 * clean up after itself). Each name carries the creating pid; only this user's directories whose
 * pid no longer exists are removed. Best effort; the provider runs it when it recovers at start-up.
 */
export async function sweepStaleScratch(dir = tmpdir()): Promise<string[]> {
  const removed: string[] = [];
  const uid = process.getuid?.();
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return removed;
  }
  for (const name of names) {
    const pid = Number(SCRATCH_NAME.exec(name)?.[1] ?? Number.NaN);
    if (!Number.isSafeInteger(pid) || pid <= 0 || pid === process.pid || isAlive(pid)) continue;
    const path = join(dir, name);
    try {
      const info = await lstat(path);
      if (!info.isDirectory() || (uid !== undefined && info.uid !== uid)) continue;
      await rm(path, { recursive: true, force: true });
      removed.push(path);
    } catch {
      // Gone already, or not ours to remove.
    }
  }
  return removed;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, under another user.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Prepares the turn. The scratch directory is a private (0700) temp directory, not in state_dir:
 * turns must keep working with a full or read-only state dir.
 */
export async function prepareTurnSetup(
  plan: TurnPlan,
  stateDir: string,
  processes: ProcessRegistry,
): Promise<SetupResult> {
  let scratchDir = "";
  const cleanup = () =>
    scratchDir === ""
      ? Promise.resolve()
      : rm(scratchDir, { recursive: true, force: true }).catch(() => undefined);
  try {
    scratchDir = await mkdtemp(join(tmpdir(), `${SCRATCH_PREFIX}${process.pid}-`));

    let cwd = plan.workspace;
    let worktreePath = "";
    if (plan.worktree.enabled) {
      const worktree = await ensureAgentWorktree({
        workspace: plan.workspace,
        path: agentPath(stateDir, plan.agentId, "worktree"),
        baseRef: plan.worktree.baseRef,
        processes,
      });
      if (!worktree.ok) {
        await cleanup();
        return { ok: false, error: turnError("WORKTREE_FAILED", worktree.message) };
      }
      cwd = worktree.worktree.cwd;
      worktreePath = worktree.worktree.path;
    }

    const imagePaths = await stageImages(plan.images, scratchDir);
    let outputSchemaPath: string | undefined;
    if (plan.outputSchema !== undefined) {
      outputSchemaPath = join(scratchDir, "output-schema.json");
      await writeFile(outputSchemaPath, plan.outputSchema.json, { mode: 0o600 });
    }
    // A diff that cannot be had never fails the turn; turn_end says "unavailable" and why.
    const diff =
      plan.diffMaxBytes > 0
        ? await TurnDiffTracker.start({
            cwd,
            scratchDir: join(scratchDir, "diff"),
            processes,
          }).catch((error: unknown) => unavailableDiff(error))
        : undefined;
    return {
      ok: true,
      setup: { cwd, worktreePath, imagePaths, outputSchemaPath, diff, cleanup },
    };
  } catch (error) {
    await cleanup();
    const reason = error instanceof Error ? error.message : String(error);
    return {
      ok: false,
      error: turnError("INTERNAL", `could not prepare the turn in ${scratchDir}: ${reason}`),
    };
  }
}

/** The end of the turn's diff; undefined when diffs are off. */
export async function finishTurnDiff(
  setup: TurnSetup,
  maxBytes: number,
): Promise<DiffOutcome | undefined> {
  if (setup.diff === undefined) return undefined;
  if (!(setup.diff instanceof TurnDiffTracker)) return setup.diff;
  return setup.diff.finish(maxBytes).catch((error: unknown) => unavailableDiff(error));
}

function unavailableDiff(error: unknown): DiffOutcome {
  return {
    diff: { status: "unavailable", unified: "", files: [], bytes: 0 },
    reason: error instanceof Error ? error.message : String(error),
  };
}
