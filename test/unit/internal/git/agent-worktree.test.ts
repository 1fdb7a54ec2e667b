import { execFileSync } from "node:child_process";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";

import { afterEach, describe, expect, it } from "vitest";

import { ensureAgentWorktree } from "../../../../internal/git/agent-worktree.js";
import { ProcessRegistry } from "../../../../internal/proc/process-registry.js";
import { createTempDirs } from "../../../helpers/temp-dirs.js";

const processes = new ProcessRegistry();
const dirs = createTempDirs();
afterEach(() => dirs.removeAll());

function git(cwd: string, ...args: string[]): string {
  return execFileSync("git", args, { cwd, encoding: "utf8" }).trim();
}

async function repo(): Promise<string> {
  const dir = await dirs.make("repo");
  git(dir, "init", "-q");
  git(dir, "config", "user.email", "t@example.invalid");
  git(dir, "config", "user.name", "t");
  await mkdir(join(dir, "app"));
  await writeFile(join(dir, "app", "v.txt"), "one\n");
  git(dir, "add", ".");
  git(dir, "commit", "-qm", "one");
  await writeFile(join(dir, "app", "v.txt"), "two\n");
  git(dir, "commit", "-qam", "two");
  // A hook that must not run when the plugin creates worktrees.
  await writeFile(join(dir, ".git", "hooks", "post-checkout"), "#!/bin/sh\ntouch HOOK_RAN\n", {
    mode: 0o755,
  });
  return dir;
}

describe("ensureAgentWorktree", () => {
  it("creates a detached worktree at base_ref once, then reuses it as it is", async () => {
    const workspace = await repo();
    const path = join(await dirs.make("state"), "agents", "a", "worktree");
    const first = await ensureAgentWorktree({ workspace, path, baseRef: "HEAD~1", processes });
    expect(first).toEqual({ ok: true, worktree: { path, cwd: path, created: true } });
    expect(await readFile(join(path, "app", "v.txt"), "utf8")).toBe("one\n");
    expect(git(path, "rev-parse", "--abbrev-ref", "HEAD")).toBe("HEAD");
    await expect(readFile(join(path, "HOOK_RAN"))).rejects.toThrow();

    await writeFile(join(path, "work.txt"), "kept\n");
    const again = await ensureAgentWorktree({ workspace, path, baseRef: "", processes });
    expect(again).toEqual({ ok: true, worktree: { path, cwd: path, created: false } });
    expect(await readFile(join(path, "work.txt"), "utf8")).toBe("kept\n");
  });

  it("runs a subdirectory workspace in the same subdirectory of the worktree", async () => {
    const root = await repo();
    const path = join(await dirs.make("state"), "wt");
    const result = await ensureAgentWorktree({
      workspace: join(root, "app"),
      path,
      baseRef: "",
      processes,
    });
    expect(result).toMatchObject({ ok: true, worktree: { path, cwd: join(path, "app") } });
  });

  it("recreates a worktree deleted by hand", async () => {
    const workspace = await repo();
    const path = join(await dirs.make("state"), "wt");
    await ensureAgentWorktree({ workspace, path, baseRef: "", processes });
    await rm(path, { recursive: true });
    expect(await ensureAgentWorktree({ workspace, path, baseRef: "", processes })).toMatchObject({
      ok: true,
      worktree: { created: true },
    });
  });

  it("refuses a non-git workspace, a foreign directory, a bad ref and an option-like ref", async () => {
    const workspace = await repo();
    const plain = await dirs.make("plain");
    const foreign = await dirs.make("foreign");
    const cases: [Parameters<typeof ensureAgentWorktree>[0], string][] = [
      [
        { workspace: plain, path: join(plain, "wt"), baseRef: "", processes },
        "needs a git workspace",
      ],
      [{ workspace, path: foreign, baseRef: "", processes }, "is not a worktree of"],
      [
        { workspace, path: join(foreign, "wt"), baseRef: "no-such-ref", processes },
        "could not create",
      ],
      [
        { workspace, path: join(foreign, "wt2"), baseRef: "--orphan", processes },
        "must not start with '-'",
      ],
    ];
    for (const [request, message] of cases) {
      const result = await ensureAgentWorktree(request);
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.message).toContain(message);
    }
  });
});
