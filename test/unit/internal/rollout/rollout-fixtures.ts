// Shared by the rollout unit tests: the fixture files and a throw-away CODEX_HOME holding them
// where codex would.
import { copyFile, mkdir, readFile } from "node:fs/promises";
import { join, resolve } from "node:path";

import type { Clock } from "../../../../internal/core/clock.js";
import type { MirrorPlace } from "../../../../internal/rollout/rollout-mirror.js";

/** The thread id of every fixture in test/fixtures/rollouts. */
export const FIXTURE_THREAD = "01a200b8-0000-7000-8000-000000000001";

/** A fixture file's path. */
export function fixturePath(name: string): string {
  return resolve("test/fixtures/rollouts", name);
}

/** A fixture's bytes. */
export function fixtureBytes(name: string): Promise<Buffer> {
  return readFile(fixturePath(name));
}

/** A clock that stands still at `ms`, or moves when told. */
export interface TestClock extends Clock {
  set(ms: number): void;
}

/** A clock standing at `ms` (epoch milliseconds). */
export function testClock(ms: number): TestClock {
  let now = ms;
  return {
    now: () => now,
    set(next) {
      now = next;
    },
  };
}

/** The instant the rollout tests run at (any instant works; the directories follow it). */
export const FIXTURE_TIME = Date.UTC(2026, 10, 22, 0, 46, 46);

/** A clock at FIXTURE_TIME. */
export function fixtureClock(): TestClock {
  return testClock(FIXTURE_TIME);
}

/** A mirror place in codexHome for a turn that started at the clock's time. */
export function fixturePlace(codexHome: string, clock: Clock = fixtureClock()): MirrorPlace {
  return { codexHome, clock, since: clock.now() };
}

const pad = (value: number): string => String(value).padStart(2, "0");

/** What codex names by: the local date and time of `ms`, in this process's time zone. */
function localParts(ms: number): { date: string[]; stamp: string } {
  const at = new Date(ms);
  const date = [String(at.getFullYear()), pad(at.getMonth() + 1), pad(at.getDate())];
  const time = [pad(at.getHours()), pad(at.getMinutes()), pad(at.getSeconds())];
  return { date, stamp: `${date.join("-")}T${time.join("-")}` };
}

/** The session directory codex would use for a thread started at `ms` (its local date). */
export function sessionDir(codexHome: string, ms = FIXTURE_TIME): string {
  return join(codexHome, "sessions", ...localParts(ms).date);
}

/** The rollout file name codex would give a thread started at `ms`. */
export function rolloutName(threadId: string, ms = FIXTURE_TIME, suffix = ".jsonl"): string {
  return `rollout-${localParts(ms).stamp}-${threadId}${suffix}`;
}

/**
 * Copies fixture `name` into codexHome as the thread's rollout, where codex would put a thread
 * started at `ms`; returns its path.
 */
export async function installFixture(
  codexHome: string,
  name: string,
  threadId = FIXTURE_THREAD,
  ms = FIXTURE_TIME,
): Promise<string> {
  const dir = sessionDir(codexHome, ms);
  await mkdir(dir, { recursive: true });
  const suffix = name.endsWith(".zst") ? ".jsonl.zst" : ".jsonl";
  const path = join(dir, rolloutName(threadId, ms, suffix));
  await copyFile(fixturePath(name), path);
  return path;
}

/** The lines of a JSONL text (the last one may lack its newline). */
export function splitLines(text: string): string[] {
  const lines = text.split("\n");
  if (lines.at(-1) === "") lines.pop();
  return lines;
}
