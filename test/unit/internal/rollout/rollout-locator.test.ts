import { mkdir, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";

import { afterEach, describe, expect, it } from "vitest";

import { locateRollout, sessionDayDirs } from "../../../../internal/rollout/rollout-locator.js";
import { createTempDirs } from "../../../helpers/temp-dirs.js";
import { FIXTURE_THREAD, FIXTURE_TIME, installFixture, rolloutName } from "./rollout-fixtures.js";

const temp = createTempDirs();
afterEach(() => temp.removeAll());

const HOUR = 3600_000;
const DAY = 24 * HOUR;
// Some weeks after the fixtures' rollouts were written.
const LATER = FIXTURE_TIME + 54 * DAY;
const at = (ms: number) => ({ from: ms, to: ms });

// sessions/YYYY/MM/DD of a UTC instant shifted by `offsetHours`, as a zone at that offset names it.
function dirAtOffset(home: string, ms: number, offsetHours: number): string {
  const [year, month, day] = new Date(ms + offsetHours * HOUR)
    .toISOString()
    .slice(0, 10)
    .split("-");
  return join(home, "sessions", year ?? "", month ?? "", day ?? "");
}

describe("sessionDayDirs", () => {
  it("names every date some zone (UTC−12 to UTC+14) shows during the window, newest first", () => {
    // 2027-12-31T23:59:30Z: UTC+14 is already on 2028-01-01, UTC−12 still on 2027-12-31.
    const instant = Date.UTC(2027, 11, 31, 23, 59, 30);
    expect(sessionDayDirs("/h", at(instant))).toEqual([
      "/h/sessions/2028/01/01",
      "/h/sessions/2027/12/31",
    ]);
    // Half a day into 2028-03-12 UTC: zones show the 11th, 12th and 13th.
    expect(sessionDayDirs("/h", at(Date.UTC(2028, 2, 12, 11)))).toEqual([
      "/h/sessions/2028/03/13",
      "/h/sessions/2028/03/12",
      "/h/sessions/2028/03/11",
    ]);
    // A turn of three days covers every date in between.
    const from = Date.UTC(2028, 1, 27, 12);
    expect(sessionDayDirs("/h", { from, to: from + 3 * DAY })).toEqual([
      "/h/sessions/2028/03/02",
      "/h/sessions/2028/03/01",
      "/h/sessions/2028/02/29",
      "/h/sessions/2028/02/28",
      "/h/sessions/2028/02/27",
    ]);
  });

  it("bounds a very long window; older dates are left to the deep search", () => {
    const to = Date.UTC(2027, 5, 1);
    expect(sessionDayDirs("/h", { from: to - 400 * DAY, to })).toHaveLength(32);
  });
});

describe("locateRollout", () => {
  it("finds a remembered path, and its compressed or plain twin when codex changed it", async () => {
    const home = await temp.make("codex-home");
    const plain = await installFixture(home, "basic.jsonl");
    const options = { remembered: plain, deep: false, window: at(LATER) };
    expect(await locateRollout(home, FIXTURE_THREAD, options)).toBe(plain);
    await rename(plain, `${plain}.zst`);
    expect(await locateRollout(home, FIXTURE_THREAD, options)).toBe(`${plain}.zst`);
    // Both present (codex materialising): the plain file is the live one.
    await writeFile(plain, "");
    expect(
      await locateRollout(home, FIXTURE_THREAD, { ...options, remembered: `${plain}.zst` }),
    ).toBe(plain);
  });

  it("ignores a remembered path of another thread", async () => {
    const home = await temp.make("codex-home");
    const other = await installFixture(home, "basic.jsonl", "01a200b8-0000-7000-8000-0000000000ff");
    expect(
      await locateRollout(home, FIXTURE_THREAD, {
        remembered: other,
        deep: true,
        window: at(LATER),
      }),
    ).toBeUndefined();
  });

  it("without a deep search, finds a file codex made in any zone's date since the turn started", async () => {
    // The turn starts one second before midnight UTC and is polled after it.
    const start = Date.UTC(2027, 0, 14, 23, 59, 59);
    const window = { from: start, to: start + 5_000 };
    for (const offset of [-11, 0, 14]) {
      const home = await temp.make("codex-home");
      const dir = dirAtOffset(home, start, offset);
      await mkdir(dir, { recursive: true });
      const path = join(dir, rolloutName(FIXTURE_THREAD, start));
      await writeFile(path, "");
      expect(await locateRollout(home, FIXTURE_THREAD, { deep: false, window })).toBe(path);
    }
  });

  it("finds the file of a thread created on another day only by the deep search", async () => {
    const home = await temp.make("codex-home");
    const path = await installFixture(home, "basic.jsonl");
    expect(
      await locateRollout(home, FIXTURE_THREAD, { deep: false, window: at(LATER) }),
    ).toBeUndefined();
    expect(await locateRollout(home, FIXTURE_THREAD, { deep: true, window: at(LATER) })).toBe(path);
    await mkdir(join(home, "archived_sessions"));
    const archived = join(home, "archived_sessions", `rollout-x-${FIXTURE_THREAD}.jsonl.zst`);
    await rename(path, archived);
    expect(await locateRollout(home, FIXTURE_THREAD, { deep: true, window: at(LATER) })).toBe(
      archived,
    );
    expect(
      await locateRollout(home, FIXTURE_THREAD.toUpperCase(), { deep: true, window: at(LATER) }),
    ).toBe(archived);
  });
});
