// Helpers for process tests that run the runner against the fake codex scripts in
// test/fixtures/bin/.
import { existsSync, readFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

import { pino } from "pino";

const here = dirname(fileURLToPath(import.meta.url));

/** Absolute path of a fake codex executable, e.g. fakeCodex("fake-codex-hang.mjs"). */
export function fakeCodex(name: string): string {
  return resolve(here, "..", "fixtures", "bin", name);
}

/** A logger that drops everything (tests assert on events, not logs). */
export const silentLogger = pino({ level: "silent" });

/** Writes $CODEX_HOME/fake-control.json for the fakes. */
export async function writeFakeControl(
  codexHome: string,
  control: Record<string, unknown>,
): Promise<void> {
  await writeFile(join(codexHome, "fake-control.json"), JSON.stringify(control));
}

export interface FakeCall {
  args: string[];
  prompt: string;
  cwd: string;
  env: { CODEX_HOME?: string; RUST_BACKTRACE: string | null };
}

/** The calls the fake codex recorded in $CODEX_HOME/fake-calls.jsonl. */
export function readFakeCalls(codexHome: string): FakeCall[] {
  const path = join(codexHome, "fake-calls.jsonl");
  if (!existsSync(path)) return [];
  return readFileSync(path, "utf8")
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => JSON.parse(line) as FakeCall);
}

/** Drains an async iterable into an array. */
export async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

/**
 * True while a process with this pid exists and is not a zombie (signal 0 probes without
 * signalling; an unreaped zombie would still answer it, so /proc is checked too).
 */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}

/** Polls until `check` is true or the deadline passes; returns the last result. */
export async function waitFor(
  check: () => boolean,
  timeoutMs: number,
  stepMs = 25,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (check()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((done) => setTimeout(done, stepMs));
  }
}
