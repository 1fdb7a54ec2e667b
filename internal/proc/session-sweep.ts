// Codex runs every command in a session of its own (setsid), so a command's grandchildren are in
// no process tree of ours once their parents died: re-parented to init, they are only findable by
// the session or process group id they kept. This finds them, without ever matching a recycled id.
import type { ProcessInfo } from "./process-tree.js";

/**
 * The processes of `table` that are in a session or process group led by one of `leaders` (a
 * leader is a recorded process whose pid is its sid or pgid), other than the leaders themselves.
 *
 * An id is trusted only while it cannot have been recycled: a process is never older than the
 * session or group it is in, so members started before the leader are someone else's; if the
 * leader's pid is alive with another start time, the id was handed out again. `notAfter` (clock
 * ticks) excludes processes started later, e.g. after the plugin instance that is reaping.
 */
export function findSessionMembers(
  leaders: readonly Pick<ProcessInfo, "pid" | "pgid" | "sid" | "startTime">[],
  table: readonly ProcessInfo[],
  notAfter?: bigint,
): ProcessInfo[] {
  const starts = new Map<number, bigint>();
  for (const leader of leaders) {
    if (leader.pid === leader.sid || leader.pid === leader.pgid) {
      starts.set(leader.pid, BigInt(leader.startTime));
    }
  }
  if (starts.size === 0) return [];
  const byPid = new Map(table.map((info) => [info.pid, info]));
  const members: ProcessInfo[] = [];
  for (const info of table) {
    if (starts.has(info.pid)) continue;
    for (const id of [info.sid, info.pgid]) {
      if (id === undefined) continue;
      const leaderStart = starts.get(id);
      if (leaderStart === undefined) continue;
      const holder = byPid.get(id);
      if (holder !== undefined && BigInt(holder.startTime) !== leaderStart) continue;
      const start = BigInt(info.startTime);
      if (start < leaderStart || (notAfter !== undefined && start > notAfter)) continue;
      members.push(info);
      break;
    }
  }
  return members;
}
