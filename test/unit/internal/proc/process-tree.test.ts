import { spawn } from "node:child_process";

import { describe, expect, it } from "vitest";

import {
  collectDescendants,
  parseStat,
  type ProcessInfo,
  readProcessInfo,
  readProcessTable,
} from "../../../../internal/proc/process-tree.js";

describe("parseStat", () => {
  it("handles command names with spaces and parentheses", () => {
    const stat =
      "4242 (my (weird) cmd) S 100 4242 4242 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 987654 0 0";
    expect(parseStat(4242, stat)).toEqual({
      pid: 4242,
      ppid: 100,
      pgid: 4242,
      sid: 4242,
      startTime: "987654",
    });
  });

  it("treats zombies and garbage as absent", () => {
    expect(parseStat(1, "1 (z) Z 0 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 5 0 0")).toBeUndefined();
    expect(parseStat(1, "garbage")).toBeUndefined();
  });
});

describe("collectDescendants", () => {
  it("walks the whole subtree and nothing else", () => {
    const info = (pid: number, ppid: number): ProcessInfo => ({
      pid,
      ppid,
      pgid: pid,
      startTime: "1",
    });
    const table = [
      info(10, 1),
      info(11, 10),
      info(12, 11),
      info(13, 10),
      info(20, 1),
      info(21, 20),
    ];
    expect(
      collectDescendants(10, table)
        .map((entry) => entry.pid)
        .sort(),
    ).toEqual([11, 12, 13]);
    expect(collectDescendants(99, table)).toEqual([]);
  });
});

describe.runIf(process.platform === "linux")("reading /proc", () => {
  it("finds a real child of this process", async () => {
    const child = spawn("sleep", ["5"], { stdio: "ignore" });
    try {
      const pid = child.pid as number;
      const self = await readProcessInfo(pid);
      expect(self).toMatchObject({ pid, ppid: process.pid });
      const table = await readProcessTable();
      expect(collectDescendants(process.pid, table).map((entry) => entry.pid)).toContain(pid);
    } finally {
      child.kill("SIGKILL");
    }
  });
});
