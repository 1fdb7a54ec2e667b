import { describe, expect, it } from "vitest";

import type { ProcessInfo } from "../../../../internal/proc/process-tree.js";
import { findSessionMembers } from "../../../../internal/proc/session-sweep.js";

const proc = (pid: number, sid: number, pgid: number, startTime: number): ProcessInfo => ({
  pid,
  ppid: 1,
  pgid,
  sid,
  startTime: String(startTime),
});

describe("findSessionMembers", () => {
  const leader = proc(100, 100, 100, 500);

  it("finds orphans left in a dead leader's session or group", () => {
    const table = [proc(101, 100, 101, 510), proc(102, 7, 100, 520), proc(200, 200, 200, 400)];
    expect(findSessionMembers([leader], table).map((info) => info.pid)).toEqual([101, 102]);
  });

  it("ignores processes older than the leader and ids handed to a new leader", () => {
    expect(findSessionMembers([leader], [proc(101, 100, 101, 499)])).toEqual([]);
    // pid 100 is alive again with another start time: a new session 100, not ours.
    const recycled = [proc(100, 100, 100, 900), proc(101, 100, 100, 950)];
    expect(findSessionMembers([leader], recycled)).toEqual([]);
  });

  it("keeps to notAfter, skips the leaders themselves and non-leaders", () => {
    const table = [leader, proc(101, 100, 100, 510), proc(102, 100, 100, 700)];
    expect(findSessionMembers([leader], table, 600n).map((info) => info.pid)).toEqual([101]);
    expect(findSessionMembers([proc(300, 100, 100, 500)], table)).toEqual([]);
  });
});
