// Every codex run gets a random marker in its environment (PLEXUM_CODEX_RUN), which every process
// it starts inherits: its shell snapshot, the commands the model runs, their children. Codex starts
// those in sessions of their own and some outlive their parents, so they drop out of any process
// tree; the marker still finds them, and since it is random, a recycled pid can never carry it.
import { randomUUID } from "node:crypto";

import {
  listPids,
  type ProcessInfo,
  readEnvironSync,
  readInBatches,
  readProcessInfo,
  readProcessTable,
} from "./process-tree.js";

export const RUN_MARKER_ENV = "PLEXUM_CODEX_RUN";

/** A new marker: a random UUID. */
export function newRunMarker(): string {
  return randomUUID();
}

/** Narrows {@link findMarkedProcesses}. */
export interface FindMarkedOptions {
  /**
   * A /proc start time (clock ticks since boot): processes that started earlier are skipped
   * without reading their environment. A run's processes all start at or after its codex, and
   * reading another process's environment is the expensive part of a sweep (~0.3 ms each).
   */
  startedAtOrAfter?: string | undefined;
  /** A process table read just before, to use instead of reading /proc again. */
  table?: readonly ProcessInfo[] | undefined;
}

/**
 * Live processes (other than this one) whose initial environment holds one of `markers`, with
 * the marker found. Processes whose environment cannot be read (another user's) are skipped.
 */
export async function findMarkedProcesses(
  markers: ReadonlySet<string>,
  options: FindMarkedOptions = {},
): Promise<(ProcessInfo & { marker: string })[]> {
  if (markers.size === 0) return [];
  const { startedAtOrAfter } = options;
  let candidates: { pid: number; info?: ProcessInfo }[];
  if (startedAtOrAfter === undefined && options.table === undefined) {
    candidates = (await listPids()).map((pid) => ({ pid }));
  } else {
    const since = startedAtOrAfter === undefined ? undefined : BigInt(startedAtOrAfter);
    candidates = (options.table ?? (await readProcessTable()))
      .filter((info) => since === undefined || BigInt(info.startTime) >= since)
      .map((info) => ({ pid: info.pid, info }));
  }
  const prefix = Buffer.from(`${RUN_MARKER_ENV}=`);
  const found = await readInBatches(
    candidates.filter(({ pid }) => pid !== process.pid),
    ({ pid, info }) => {
      const environ = readEnvironSync(pid);
      if (environ === undefined) return undefined;
      const marker = markerIn(environ, prefix);
      return marker === undefined || !markers.has(marker) ? undefined : { pid, info, marker };
    },
  );
  const marked: (ProcessInfo & { marker: string })[] = [];
  for (const { pid, info: known, marker } of found) {
    const info = known ?? (await readProcessInfo(pid));
    if (info !== undefined) marked.push({ ...info, marker });
  }
  return marked;
}

function markerIn(environ: Buffer, prefix: Buffer): string | undefined {
  let start = 0;
  while (start < environ.length) {
    let end = environ.indexOf(0, start);
    if (end === -1) end = environ.length;
    if (environ.subarray(start, start + prefix.length).equals(prefix)) {
      return environ.subarray(start + prefix.length, end).toString("utf8");
    }
    start = end + 1;
  }
  return undefined;
}
