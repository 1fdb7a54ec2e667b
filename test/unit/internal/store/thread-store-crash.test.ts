// The thread store under SIGKILL: a writer process is killed mid-write again and again; every
// thread file must hold the old or the new id, and the start-up cleanup must remove the temp files.
// `npm run soak` runs the same loop for 1,000 iterations.
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { createTempDirs } from "../../../helpers/temp-dirs.js";
import { buildThreadWriter, runThreadStoreCrashLoop } from "../../../soak/thread-store-crash.js";

describe("thread store under SIGKILL", () => {
  const temp = createTempDirs();
  let writer: string;

  beforeAll(async () => {
    writer = await buildThreadWriter(await temp.make("writer"));
  });
  afterAll(() => temp.removeAll());

  it("keeps every thread file whole across 25 killed writers and cleans the temp files on start", async () => {
    const result = await runThreadStoreCrashLoop({
      stateDir: await temp.make("crash-state"),
      writer,
      iterations: 25,
    });
    expect(result.failures).toEqual([]);
    expect(result).toMatchObject({ iterations: 25, lost: 0, corrupt: 0, staleTempsAfter: 0 });
    expect(result.filesChecked).toBe(100);
    expect(result.savesCompleted).toBeGreaterThan(25);
    // The kills really landed inside writes (most iterations, in practice).
    expect(result.killedMidWrite).toBeGreaterThan(5);
  }, 60_000);
});
