// Shared by the rollout unit tests: the fixture files and a throw-away CODEX_HOME holding them
// where codex would.
import { copyFile, mkdir, readFile } from "node:fs/promises";
import { join, resolve } from "node:path";

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

/** The session directory codex would use for a thread started on 2026-11-22. */
export function sessionDir(codexHome: string): string {
  return join(codexHome, "sessions", "2026", "11", "22");
}

/** Copies fixture `name` into codexHome as the thread's rollout; returns its path. */
export async function installFixture(
  codexHome: string,
  name: string,
  threadId = FIXTURE_THREAD,
): Promise<string> {
  const dir = sessionDir(codexHome);
  await mkdir(dir, { recursive: true });
  const suffix = name.endsWith(".zst") ? ".jsonl.zst" : ".jsonl";
  const path = join(dir, `rollout-2026-11-22T00-46-46-${threadId}${suffix}`);
  await copyFile(fixturePath(name), path);
  return path;
}

/** The lines of a JSONL text (the last one may lack its newline). */
export function splitLines(text: string): string[] {
  const lines = text.split("\n");
  if (lines.at(-1) === "") lines.pop();
  return lines;
}
