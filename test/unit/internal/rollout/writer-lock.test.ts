import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, readFile, stat, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";

import { afterEach, describe, expect, it } from "vitest";

import {
  parseProcLocks,
  splitDevice,
  threadWriterLock,
  writerLockPath,
} from "../../../../internal/rollout/writer-lock.js";
import { createTempDirs } from "../../../helpers/temp-dirs.js";

const temp = createTempDirs();
afterEach(() => temp.removeAll());

const THREAD = "01a200ba-1763-71d2-a00c-e3c7c8bbadeb";

describe("parseProcLocks", () => {
  it("reads FLOCK and POSIX entries and waiters, with hex devices and decimal inodes", () => {
    const table = [
      "1: POSIX  ADVISORY  READ 15339 fe:00:2148599 128 128",
      "4: FLOCK  ADVISORY  WRITE 15339 fe:00:2148591 0 EOF",
      "4: -> FLOCK  ADVISORY  WRITE 15400 fe:00:2148591 0 EOF",
      "7: OFDLCK ADVISORY  READ -1 103:0a:12 0 EOF",
      "garbage",
    ].join("\n");
    expect(parseProcLocks(table)).toEqual([
      { kind: "POSIX", pid: 15339, major: 0xfe, minor: 0, inode: 2148599n },
      { kind: "FLOCK", pid: 15339, major: 0xfe, minor: 0, inode: 2148591n },
      { kind: "FLOCK", pid: 15400, major: 0xfe, minor: 0, inode: 2148591n },
      { kind: "OFDLCK", pid: undefined, major: 0x103, minor: 0x0a, inode: 12n },
    ]);
  });
});

describe("splitDevice", () => {
  it("decodes glibc's st_dev encoding", () => {
    expect(splitDevice(65024n)).toEqual({ major: 0xfe, minor: 0 }); // fe:00
    expect(splitDevice(0x803n)).toEqual({ major: 8, minor: 3 });
    // A large minor spills into the high bits.
    expect(splitDevice((0x1200n << 12n) | (0x103n << 8n) | 0x45n)).toEqual({
      major: 0x103,
      minor: 0x1245,
    });
  });
});

describe("threadWriterLock", () => {
  it("is free without a lock file", async () => {
    expect(await threadWriterLock(await temp.make("codex-home"), THREAD)).toEqual({
      state: "free",
    });
  });

  it("finds the lock by device and inode in a lock table", async () => {
    const home = await temp.make("codex-home");
    const lockFile = writerLockPath(home, THREAD);
    await mkdir(dirname(lockFile), { recursive: true });
    await writeFile(lockFile, "");
    const { dev, ino } = await stat(lockFile, { bigint: true });
    const { major, minor } = splitDevice(dev);
    const hex = (value: number) => value.toString(16).padStart(2, "0");
    const table = join(home, "locks");
    await writeFile(
      table,
      `1: FLOCK  ADVISORY  WRITE 4242 ${hex(major)}:${hex(minor)}:${ino} 0 EOF\n`,
    );
    expect(await threadWriterLock(home, THREAD, table)).toEqual({ state: "held", pid: 4242 });
    await writeFile(
      table,
      `1: FLOCK  ADVISORY  WRITE 4242 ${hex(major)}:${hex(minor)}:${ino + 1n} 0 EOF\n`,
    );
    expect(await threadWriterLock(home, THREAD, table)).toEqual({ state: "free" });
    expect((await threadWriterLock(home, THREAD, join(home, "missing"))).state).toBe("unknown");
  });

  it.skipIf(!existsSync("/proc/locks") || !existsSync("/usr/bin/flock"))(
    "sees a real flock held by another process (util-linux flock, as codex's is)",
    async () => {
      const home = await temp.make("codex-home");
      const lockFile = writerLockPath(home, THREAD);
      await mkdir(dirname(lockFile), { recursive: true });
      await writeFile(lockFile, "");
      const ready = join(home, "ready");
      // Holds LOCK_EX until stdin closes.
      const holder = spawn(
        "/usr/bin/flock",
        ["--exclusive", lockFile, "sh", "-c", `touch ${ready}; cat`],
        {
          stdio: ["pipe", "ignore", "ignore"],
        },
      );
      try {
        const deadline = Date.now() + 10_000;
        while (!existsSync(ready) && Date.now() < deadline) {
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        const held = await threadWriterLock(home, THREAD);
        expect(held.state).toBe("held");
        expect(await readFile("/proc/locks", "utf8")).toContain("FLOCK");
      } finally {
        holder.stdin.end();
        await new Promise((resolve) => holder.once("exit", resolve));
      }
      // The file stays; the lock is gone with its holder.
      expect(await threadWriterLock(home, THREAD)).toEqual({ state: "free" });
    },
  );
});
