import { mkdir, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";

import { afterEach, describe, expect, it } from "vitest";

import { locateRollout } from "../../../../internal/rollout/locate-rollout.js";
import { createTempDirs } from "../../../helpers/temp-dirs.js";
import { FIXTURE_THREAD, installFixture } from "./rollout-fixtures.js";

const temp = createTempDirs();
afterEach(() => temp.removeAll());

const LATER = new Date(2027, 0, 15, 12);

describe("locateRollout", () => {
  it("finds a remembered path, and its compressed or plain twin when codex changed it", async () => {
    const home = await temp.make("codex-home");
    const plain = await installFixture(home, "basic.jsonl");
    const options = { remembered: plain, deep: false, now: LATER };
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
      await locateRollout(home, FIXTURE_THREAD, { remembered: other, deep: true, now: LATER }),
    ).toBeUndefined();
  });

  it("looks in today's and yesterday's directories (local time) without a deep search", async () => {
    const home = await temp.make("codex-home");
    const yesterday = join(home, "sessions", "2027", "01", "14");
    await mkdir(yesterday, { recursive: true });
    const path = join(yesterday, `rollout-2027-01-14T23-59-59-${FIXTURE_THREAD}.jsonl`);
    await writeFile(path, "");
    expect(await locateRollout(home, FIXTURE_THREAD, { deep: false, now: LATER })).toBe(path);
  });

  it("searches sessions/ and then archived_sessions/ only when deep", async () => {
    const home = await temp.make("codex-home");
    const path = await installFixture(home, "basic.jsonl");
    expect(await locateRollout(home, FIXTURE_THREAD, { deep: false, now: LATER })).toBeUndefined();
    expect(await locateRollout(home, FIXTURE_THREAD, { deep: true, now: LATER })).toBe(path);
    await mkdir(join(home, "archived_sessions"));
    const archived = join(home, "archived_sessions", `rollout-x-${FIXTURE_THREAD}.jsonl.zst`);
    await rename(path, archived);
    expect(await locateRollout(home, FIXTURE_THREAD, { deep: true, now: LATER })).toBe(archived);
    expect(
      await locateRollout(home, FIXTURE_THREAD.toUpperCase(), { deep: true, now: LATER }),
    ).toBe(archived);
  });
});
