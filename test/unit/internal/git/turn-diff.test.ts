import { execFileSync } from "node:child_process";
import { chmod, mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";

import { afterEach, describe, expect, it } from "vitest";

import { type DiffOutcome, TurnDiffTracker } from "../../../../internal/git/turn-diff.js";
import { ProcessRegistry } from "../../../../internal/proc/process-registry.js";
import { createTempDirs } from "../../../helpers/temp-dirs.js";

const processes = new ProcessRegistry();
const dirs = createTempDirs();
afterEach(() => dirs.removeAll());

function git(cwd: string, ...args: string[]): string {
  return execFileSync("git", args, { cwd, encoding: "utf8" });
}

async function repo(files: Record<string, string>): Promise<string> {
  const dir = await dirs.make("repo");
  git(dir, "init", "-q");
  git(dir, "config", "user.email", "t@example.invalid");
  git(dir, "config", "user.name", "t");
  for (const [file, text] of Object.entries(files)) {
    await mkdir(join(dir, file, ".."), { recursive: true });
    await writeFile(join(dir, file), text);
  }
  git(dir, "add", ".");
  git(dir, "commit", "-qm", "base");
  return dir;
}

async function track(cwd: string, git?: string): Promise<TurnDiffTracker | DiffOutcome> {
  return TurnDiffTracker.start({
    cwd,
    scratchDir: join(await dirs.make("scratch"), "diff"),
    processes,
    ...(git === undefined ? {} : { git }),
  });
}

async function tracker(cwd: string): Promise<TurnDiffTracker> {
  const started = await track(cwd);
  if (!(started instanceof TurnDiffTracker)) throw new Error(JSON.stringify(started));
  return started;
}

describe("TurnDiffTracker", () => {
  it("diffs only what changed after the start snapshot, untracked files included", async () => {
    const dir = await repo({ "a.txt": "a\n", "b.txt": "b\n", "gone.txt": "bye\n" });
    await writeFile(join(dir, ".gitignore"), "ignored.log\n");
    await writeFile(join(dir, "b.txt"), "b edited before\n");
    await writeFile(join(dir, "before.txt"), "untracked before\n");
    const objects = git(dir, "count-objects", "-v");
    const status = git(dir, "status", "--porcelain");

    const diff = await tracker(dir);
    await writeFile(join(dir, "a.txt"), "A\n");
    await writeFile(join(dir, "new file ü.txt"), "new\n");
    await writeFile(join(dir, "ignored.log"), "noise\n");
    await rm(join(dir, "gone.txt"));
    const { diff: result, reason } = await diff.finish(1_000_000);

    expect(reason).toBeUndefined();
    expect(result.status).toBe("ok");
    expect(result.files).toEqual(["a.txt", "gone.txt", "new file ü.txt"]);
    expect(result.unified).toContain("--- a/a.txt\n+++ b/a.txt\n@@ -1 +1 @@\n-a\n+A\n");
    expect(result.unified).toContain("deleted file mode 100644");
    expect(result.unified).toContain("+++ b/new file ü.txt");
    for (const untouched of ["b.txt", "before.txt", "ignored.log"]) {
      expect(result.unified).not.toContain(untouched);
    }
    expect(result.bytes).toBe(Buffer.byteLength(result.unified));
    // Nothing was written to the repository: no objects, the real index untouched.
    expect(git(dir, "count-objects", "-v")).toBe(objects);
    expect(git(dir, "status", "--porcelain")).not.toBe(status);
    git(dir, "checkout", "--", "a.txt", "gone.txt");
    await rm(join(dir, "new file ü.txt"));
    await rm(join(dir, "ignored.log"));
    expect(git(dir, "status", "--porcelain")).toBe(status);
  });

  it("reports an unchanged tree as ok and empty, and a subdirectory workspace relative to it", async () => {
    const dir = await repo({ "top.txt": "t\n", "sub/x.txt": "x\n" });
    const unchanged = await tracker(dir);
    expect((await unchanged.finish(100)).diff).toEqual({
      status: "ok",
      unified: "",
      files: [],
      bytes: 0,
    });

    const sub = await tracker(join(dir, "sub"));
    await writeFile(join(dir, "sub", "x.txt"), "X\n");
    await writeFile(join(dir, "top.txt"), "outside the workspace\n");
    const { diff } = await sub.finish(100_000);
    expect(diff.files).toEqual(["x.txt"]);
    expect(diff.unified).toContain("--- a/x.txt");
  });

  it("cuts a large diff after its last whole line and says truncated, with the full size", async () => {
    const dir = await repo({ "big.txt": "" });
    const diff = await tracker(dir);
    await writeFile(join(dir, "big.txt"), "é line\n".repeat(2000));
    const { diff: result } = await diff.finish(1000);
    expect(result.status).toBe("truncated");
    expect(Buffer.byteLength(result.unified)).toBeLessThanOrEqual(1000);
    expect(result.unified.endsWith("\n")).toBe(true);
    expect(result.unified).not.toContain("\uFFFD");
    expect(result.bytes).toBeGreaterThan(16_000);
    expect(result.files).toEqual(["big.txt"]);
  });

  it("works in a repository without commits", async () => {
    const dir = await dirs.make("fresh");
    git(dir, "init", "-q");
    await writeFile(join(dir, "before.txt"), "x\n");
    const diff = await tracker(dir);
    await writeFile(join(dir, "after.txt"), "y\n");
    expect((await diff.finish(10_000)).diff.files).toEqual(["after.txt"]);
  });

  it("says not_git outside a repository and unavailable when git cannot run", async () => {
    const plain = await dirs.make("plain");
    const notGit = { diff: { status: "not_git", unified: "", files: [], bytes: 0 } };
    expect(await track(plain)).toEqual(notGit);
    // No .git anywhere above: known without running git at all.
    expect(await track(plain, "/nonexistent/git")).toEqual(notGit);
    const repository = await repo({ "sub/a.txt": "a\n" });
    const missing = await track(join(repository, "sub"), "/nonexistent/git");
    expect(missing).toMatchObject({ diff: { status: "unavailable" } });
    expect((missing as DiffOutcome).reason).toContain("ENOENT");
  });

  // root reads every file, so there is nothing unreadable to test with.
  it.skipIf(process.getuid?.() === 0)(
    "leaves unreadable files out instead of failing",
    async () => {
      const dir = await repo({ "a.txt": "a\n" });
      const diff = await tracker(dir);
      await writeFile(join(dir, "secret.txt"), "s\n");
      await chmod(join(dir, "secret.txt"), 0);
      await writeFile(join(dir, "a.txt"), "A\n");
      const { diff: result } = await diff.finish(10_000);
      expect(result.files).toEqual(["a.txt"]);
    },
  );
});
