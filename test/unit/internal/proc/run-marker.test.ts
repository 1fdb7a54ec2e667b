import { type ChildProcess, spawn } from "node:child_process";

import { afterEach, describe, expect, it } from "vitest";

import {
  PROC_BATCH,
  readInBatches,
  readProcessInfo,
  readProcessTable,
} from "../../../../internal/proc/process-tree.js";
import {
  findMarkedProcesses,
  newRunMarker,
  RUN_MARKER_ENV,
} from "../../../../internal/proc/run-marker.js";

const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) child.kill("SIGKILL");
});

function sleeper(marker: string): ChildProcess {
  const child = spawn("sleep", ["30"], { env: { ...process.env, [RUN_MARKER_ENV]: marker } });
  children.push(child);
  return child;
}

async function startTimeOf(pid: number): Promise<string> {
  for (let attempt = 0; attempt < 50; attempt += 1) {
    const info = await readProcessInfo(pid);
    if (info !== undefined) return info.startTime;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`no /proc entry for ${pid}`);
}

describe.runIf(process.platform === "linux")("findMarkedProcesses", () => {
  it("finds a process by the marker in its environment, and only that one", async () => {
    const marker = newRunMarker();
    const child = sleeper(marker);
    sleeper(newRunMarker());
    const startTime = await startTimeOf(child.pid ?? 0);
    const found = await findMarkedProcesses(new Set([marker]));
    expect(found).toEqual([expect.objectContaining({ pid: child.pid, marker, startTime })]);
  });

  it("skips processes that started before the given start time, without reading them", async () => {
    const marker = newRunMarker();
    const child = sleeper(marker);
    const startTime = await startTimeOf(child.pid ?? 0);
    const same = await findMarkedProcesses(new Set([marker]), { startedAtOrAfter: startTime });
    expect(same.map((entry) => entry.pid)).toEqual([child.pid]);
    const later = (BigInt(startTime) + 1n).toString();
    expect(await findMarkedProcesses(new Set([marker]), { startedAtOrAfter: later })).toEqual([]);
  });

  it("looks only at the processes of a table it is given", async () => {
    const marker = newRunMarker();
    const child = sleeper(marker);
    await startTimeOf(child.pid ?? 0);
    const table = await readProcessTable();
    expect((await findMarkedProcesses(new Set([marker]), { table })).length).toBe(1);
    const without = table.filter((info) => info.pid !== child.pid);
    expect(await findMarkedProcesses(new Set([marker]), { table: without })).toEqual([]);
  });
});

describe("readInBatches", () => {
  it("keeps order and defined results across batches", async () => {
    const items = Array.from({ length: PROC_BATCH * 2 + 5 }, (_, index) => index);
    const results = await readInBatches(items, (item) => (item % 3 === 0 ? undefined : item * 2));
    expect(results).toEqual(items.filter((item) => item % 3 !== 0).map((item) => item * 2));
  });

  it("yields to the event loop between batches", async () => {
    let ticks = 0;
    const interval = setInterval(() => (ticks += 1), 0);
    const items = Array.from({ length: PROC_BATCH * 20 }, (_, index) => index);
    await readInBatches(items, (item) => {
      const until = performance.now() + 0.01;
      while (performance.now() < until) {
        // Busy work standing in for a read.
      }
      return item;
    });
    clearInterval(interval);
    expect(ticks).toBeGreaterThan(0);
  });
});
