// Every codex run gets a random marker in its environment (PLEXUM_CODEX_RUN), which every process
// it starts inherits: its shell snapshot, the commands the model runs, their children. Codex starts
// those in sessions of their own and some outlive their parents, so they drop out of any process
// tree; the marker still finds them, and since it is random, a recycled pid can never carry it.
import { randomUUID } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";

import { type ProcessInfo, readProcessInfo } from "./process-tree.js";

export const RUN_MARKER_ENV = "PLEXUM_CODEX_RUN";

/** A new marker: a random UUID. */
export function newRunMarker(): string {
  return randomUUID();
}

/**
 * Live processes (other than this one) whose initial environment holds one of `markers`, with
 * the marker found. Processes whose environment cannot be read (another user's) are skipped.
 */
export async function findMarkedProcesses(
  markers: ReadonlySet<string>,
): Promise<(ProcessInfo & { marker: string })[]> {
  if (markers.size === 0) return [];
  let names: string[];
  try {
    names = await readdir("/proc");
  } catch {
    return [];
  }
  const prefix = Buffer.from(`${RUN_MARKER_ENV}=`);
  const found = await Promise.all(
    names
      .filter((name) => /^\d+$/.test(name) && Number(name) !== process.pid)
      .map(async (name) => {
        let environ: Buffer;
        try {
          environ = await readFile(`/proc/${name}/environ`);
        } catch {
          return undefined;
        }
        const marker = markerIn(environ, prefix);
        if (marker === undefined || !markers.has(marker)) return undefined;
        const info = await readProcessInfo(Number(name));
        return info === undefined ? undefined : { ...info, marker };
      }),
  );
  return found.filter((entry): entry is ProcessInfo & { marker: string } => entry !== undefined);
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
