// Throw-away directories for tests (CODEX_HOME, workspaces), removed together afterwards.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A set of temp dirs created by one suite. */
export interface TempDirs {
  /** Creates a new empty directory under the OS temp dir; it exists when this resolves. */
  make(prefix: string): Promise<string>;
  /** Removes every directory made so far. */
  removeAll(): Promise<void>;
}

/** Creates a registry of temp dirs; call removeAll() in afterEach/afterAll. */
export function createTempDirs(): TempDirs {
  const made: string[] = [];
  return {
    async make(prefix: string): Promise<string> {
      const dir = await mkdtemp(join(tmpdir(), `plexum-${prefix}-`));
      made.push(dir);
      return dir;
    },
    async removeAll(): Promise<void> {
      const dirs = made.splice(0);
      await Promise.all(
        dirs.map((dir) => rm(dir, { recursive: true, force: true, maxRetries: 3 })),
      );
    },
  };
}
