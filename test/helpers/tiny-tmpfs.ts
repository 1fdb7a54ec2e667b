// A tiny tmpfs for state-dir failure tests: full (ENOSPC) and read-only (EROFS) are real kernel
// errors, not simulations. Needs root (or CAP_SYS_ADMIN); `available()` says whether mounting works.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

let probed: boolean | undefined;

/** True when this process can mount a tmpfs (checked once, by mounting one). */
export function tmpfsAvailable(): boolean {
  if (probed !== undefined) return probed;
  if (process.platform !== "linux" || process.getuid?.() !== 0) return (probed = false);
  const dir = mkdtempSync(join(tmpdir(), "plexum-tmpfs-probe-"));
  const mounted = spawnSync("mount", ["-t", "tmpfs", "-o", "size=64k", "tmpfs", dir]).status === 0;
  if (mounted) spawnSync("umount", [dir]);
  rmSync(dir, { recursive: true, force: true });
  return (probed = mounted);
}

/** A mounted tmpfs of `sizeKiB`. */
export class TinyTmpfs {
  private constructor(readonly dir: string) {}

  static mount(sizeKiB: number): TinyTmpfs {
    const dir = mkdtempSync(join(tmpdir(), "plexum-tmpfs-"));
    execFileSync("mount", ["-t", "tmpfs", "-o", `size=${sizeKiB}k,mode=0755`, "tmpfs", dir]);
    return new TinyTmpfs(dir);
  }

  /** Fills the filesystem up to the last byte (a file `filler` in its root). */
  fill(): void {
    const filler = join(this.dir, "filler");
    const block = Buffer.alloc(4096, 0x61);
    let size = 0;
    try {
      for (;;) {
        writeFileSync(filler, block, { flag: size === 0 ? "w" : "a" });
        size += block.length;
      }
    } catch {
      // ENOSPC: full. Top up the last partial block byte by byte.
      try {
        for (;;) writeFileSync(filler, "a", { flag: "a" });
      } catch {
        // Full to the byte.
      }
    }
  }

  /** Frees the space taken by fill(). */
  free(): void {
    rmSync(join(this.dir, "filler"), { force: true });
  }

  remount(mode: "ro" | "rw"): void {
    execFileSync("mount", ["-o", `remount,${mode}`, this.dir]);
  }

  unmount(): void {
    spawnSync("umount", ["-l", this.dir]);
    rmSync(this.dir, { recursive: true, force: true });
  }
}
