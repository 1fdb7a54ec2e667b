// Codex's per-thread writer lock: an exclusive flock on $CODEX_HOME/thread-writer-locks/<id>.lock,
// held by the codex process that owns the thread (research §2.4). Node cannot flock, and the lock
// file stays after codex exits, so a holder is found in /proc/locks by the file's device and inode.
import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";

/** What is known about a thread's writer lock. */
export type WriterLockState =
  | { state: "free" }
  | { state: "held"; pid: number | undefined }
  /** The lock table cannot be read here (not Linux). */
  | { state: "unknown"; reason: string };

/** The lock file codex takes for `threadId`. */
export function writerLockPath(codexHome: string, threadId: string): string {
  return join(codexHome, "thread-writer-locks", `${threadId}.lock`);
}

/** Whether some process holds a lock on the thread's writer lock file right now. */
export async function threadWriterLock(
  codexHome: string,
  threadId: string,
  procLocks = "/proc/locks",
): Promise<WriterLockState> {
  let lockFile: { dev: bigint; ino: bigint };
  try {
    lockFile = await stat(writerLockPath(codexHome, threadId), { bigint: true });
  } catch (error) {
    // No lock file: codex never wrote this thread from this CODEX_HOME, or it was cleaned up.
    if ((error as { code?: unknown }).code === "ENOENT") return { state: "free" };
    throw error;
  }
  let table: string;
  try {
    table = await readFile(procLocks, "utf8");
  } catch (error) {
    return { state: "unknown", reason: `${procLocks} is not readable: ${String(error)}` };
  }
  const { major, minor } = splitDevice(lockFile.dev);
  for (const entry of parseProcLocks(table)) {
    if (entry.major === major && entry.minor === minor && entry.inode === lockFile.ino) {
      return { state: "held", pid: entry.pid };
    }
  }
  return { state: "free" };
}

/** One lock (or waiter) from /proc/locks. */
export interface ProcLock {
  kind: string;
  pid: number | undefined;
  major: number;
  minor: number;
  inode: bigint;
}

/**
 * Parses /proc/locks: `1: FLOCK  ADVISORY  WRITE 15339 fe:00:2148591 0 EOF`, waiters prefixed
 * with "->". The device is MAJOR:MINOR in hex, the inode decimal.
 */
export function parseProcLocks(text: string): ProcLock[] {
  const locks: ProcLock[] = [];
  for (const line of text.split("\n")) {
    const fields = line
      .trim()
      .split(/\s+/)
      .filter((field) => field !== "->");
    const where = fields.findIndex((field) => /^[0-9a-f]+:[0-9a-f]+:\d+$/i.test(field));
    if (where < 2) continue;
    const [major, minor, inode] = (fields[where] ?? "").split(":") as [string, string, string];
    const pid = Number(fields[where - 1]);
    locks.push({
      kind: fields[1] ?? "",
      pid: Number.isInteger(pid) && pid > 0 ? pid : undefined,
      major: Number.parseInt(major, 16),
      minor: Number.parseInt(minor, 16),
      inode: BigInt(inode),
    });
  }
  return locks;
}

/** glibc's gnu_dev_major / gnu_dev_minor for a stat st_dev. */
export function splitDevice(dev: bigint): { major: number; minor: number } {
  const major = ((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn);
  const minor = (dev & 0xffn) | ((dev >> 12n) & ~0xffn);
  return { major: Number(major), minor: Number(minor) };
}
