import { appendFile, readFile, rename, rm, writeFile } from "node:fs/promises";

import { afterEach, describe, expect, it } from "vitest";

import type { CanonicalEvent } from "../../../../internal/core/canonical-event.js";
import { RolloutMirror } from "../../../../internal/rollout/rollout-mirror.js";
import { zstdCompress } from "../../../../internal/rollout/zstd.js";
import { createTempDirs } from "../../../helpers/temp-dirs.js";
import {
  FIXTURE_THREAD,
  fixtureBytes,
  fixturePlace,
  installFixture,
  splitLines,
} from "./rollout-fixtures.js";

const temp = createTempDirs();
afterEach(() => temp.removeAll());

function callIds(events: CanonicalEvent[]): string[] {
  return events.flatMap((event) =>
    event.kind === "tool_call" || event.kind === "tool_result"
      ? [`${event.kind === "tool_call" ? "call" : "result"}:${event.callId}`]
      : [],
  );
}

function warnings(events: CanonicalEvent[]): string[] {
  return events.flatMap((event) => (event.kind === "notice" ? [event.message] : []));
}

const NEW_TURN = [
  '{"timestamp":"t","ordinal":20,"type":"response_item","payload":{"type":"function_call","name":"exec_command","arguments":"{}","call_id":"call_next_1"}}',
  '{"timestamp":"t","ordinal":21,"type":"response_item","payload":{"type":"function_call_output","call_id":"call_next_1","output":"ok"}}',
];

describe("RolloutMirror", () => {
  it("reads a new thread's rollout from its start, then only what was appended", async () => {
    const home = await temp.make("codex-home");
    const path = await installFixture(home, "basic.jsonl");
    const mirror = RolloutMirror.forNewThread(fixturePlace(home), FIXTURE_THREAD);

    const first = await mirror.read(false);
    expect(first.found).toBe(true);
    expect(callIds(first.events)).toContain("call:call_sh_1");
    expect(callIds(first.events)).toHaveLength(12);
    expect(mirror.cursor()).toMatchObject({
      path,
      offset: (await readFile(path)).length,
      last_ordinal: 19,
    });

    expect((await mirror.read(false)).events).toEqual([]);
    await appendFile(path, `${NEW_TURN.join("\n")}\n`);
    const second = await mirror.read(false);
    expect(callIds(second.events)).toEqual(["call:call_next_1", "result:call_next_1"]);
    expect(mirror.cursor()?.last_ordinal).toBe(21);
  });

  it("does not advance past a last line without its newline, and reads it once completed", async () => {
    const home = await temp.make("codex-home");
    const path = await installFixture(home, "truncated-last.jsonl");
    const full = await readFile(path);
    const mirror = RolloutMirror.forNewThread(fixturePlace(home), FIXTURE_THREAD);

    const first = await mirror.read(false);
    expect(callIds(first.events)).toContain("call:call_late_1");
    expect(callIds(first.events)).not.toContain("result:call_late_1");
    expect(warnings(first.events)).toEqual([]);
    const cut = full.lastIndexOf(0x0a) + 1;
    expect(mirror.cursor()?.offset).toBe(cut);

    // codex finishes the line.
    const partial = full.subarray(cut).toString("utf8");
    const rest =
      '{"timestamp":"2026-11-22T00:46:47.500Z","ordinal":21,"type":"response_item","payload":{"type":"function_call_output","call_id":"call_late_1","output":"partial output that never"}}';
    expect(rest.startsWith(partial)).toBe(true);
    await appendFile(path, `${rest.slice(partial.length)}\n`);
    const second = await mirror.read(false);
    expect(callIds(second.events)).toEqual(["result:call_late_1"]);
  });

  it("skips a corrupt line in the middle with a warning and loses nothing after it", async () => {
    const home = await temp.make("codex-home");
    await installFixture(home, "corrupt-middle.jsonl");
    const mirror = RolloutMirror.forNewThread(fixturePlace(home), FIXTURE_THREAD);
    const read = await mirror.read(true);
    expect(callIds(read.events)).toEqual(
      callIds((await readBasic(await temp.make("codex-home"))).events),
    );
    expect(warnings(read.events)).toEqual([
      expect.stringMatching(/skipped 2 line\(s\) of rollout .* that are not rollout records/),
    ]);
  });

  it("resumes from a persisted cursor in a new process", async () => {
    const home = await temp.make("codex-home");
    const path = await installFixture(home, "basic.jsonl");
    const first = RolloutMirror.forNewThread(fixturePlace(home), FIXTURE_THREAD);
    await first.read(false);
    const cursor = JSON.parse(JSON.stringify(first.cursor())) as ReturnType<typeof first.cursor>;
    await appendFile(path, `${NEW_TURN.join("\n")}\n`);

    const second = await RolloutMirror.forResumedThread(fixturePlace(home), FIXTURE_THREAD, cursor);
    expect(callIds((await second.read(false)).events)).toEqual([
      "call:call_next_1",
      "result:call_next_1",
    ]);
  });

  it("starts at the end of the file for a resumed thread with no cursor (no replay)", async () => {
    const home = await temp.make("codex-home");
    const path = await installFixture(home, "truncated-last.jsonl");
    const mirror = await RolloutMirror.forResumedThread(
      fixturePlace(home),
      FIXTURE_THREAD,
      undefined,
    );
    const full = await readFile(path);
    expect(mirror.cursor()?.offset).toBe(full.lastIndexOf(0x0a) + 1);
    expect((await mirror.read(false)).events).toEqual([]);
  });

  it("re-reads after the last ordinal when someone else rewrote the file", async () => {
    const home = await temp.make("codex-home");
    const path = await installFixture(home, "basic.jsonl");
    const mirror = RolloutMirror.forNewThread(fixturePlace(home), FIXTURE_THREAD);
    await mirror.read(false);
    // Someone shortens an early line (not us: Consume moves the cursor itself), then codex appends.
    const text = (await readFile(path, "utf8")).replace("run things", "run");
    await writeFile(path, `${text}${NEW_TURN.join("\n")}\n`);
    const read = await mirror.read(false);
    expect(callIds(read.events)).toEqual(["call:call_next_1", "result:call_next_1"]);
    expect(warnings(read.events)).toEqual([
      expect.stringContaining("re-reading it after ordinal 19"),
    ]);
  });

  it("reads .jsonl.zst rollouts and keeps its cursor when codex materialises them", async () => {
    const home = await temp.make("codex-home");
    const zst = await installFixture(home, "basic.jsonl.zst");
    const mirror = RolloutMirror.forNewThread(fixturePlace(home), FIXTURE_THREAD);
    // Shallow reads (while codex runs) do not decompress; the deep one does.
    expect(await mirror.read(false)).toEqual({ found: true, events: [] });
    const read = await mirror.read(true);
    expect(callIds(read.events)).toEqual(callIds((await readBasic(await temp.make("h"))).events));
    expect(mirror.cursor()?.path).toBe(zst);

    // codex appends to a compressed rollout by writing it back as plain JSONL.
    const plain = zst.slice(0, -".zst".length);
    await writeFile(plain, `${(await fixtureBytes("basic.jsonl")).toString()}${NEW_TURN[0]}\n`);
    await rm(zst);
    const next = await mirror.read(false);
    expect(callIds(next.events)).toEqual(["call:call_next_1"]);
    expect(mirror.cursor()?.path).toBe(plain);
  });

  it("reads a multi-frame .zst the way it reads the plain file", async () => {
    const home = await temp.make("codex-home");
    const plain = await installFixture(home, "basic.jsonl");
    const text = await readFile(plain);
    const half = text.indexOf(0x0a, text.length / 2) + 1;
    const frames = Buffer.concat([
      await zstdCompress(text.subarray(0, half)),
      await zstdCompress(text.subarray(half)),
    ]);
    await writeFile(`${plain}.zst`, frames);
    await rm(plain);
    const read = await RolloutMirror.forNewThread(fixturePlace(home), FIXTURE_THREAD).read(true);
    expect(callIds(read.events)).toHaveLength(12);
  });

  it("reports a rollout that does not exist as not found, and finds it once it appears", async () => {
    const home = await temp.make("codex-home");
    const mirror = RolloutMirror.forNewThread(fixturePlace(home), FIXTURE_THREAD);
    expect(await mirror.read(true)).toEqual({ found: false, events: [] });
    expect(mirror.cursor()).toBeUndefined();
    const path = await installFixture(home, "basic.jsonl");
    expect((await mirror.read(true)).found).toBe(true);
    expect(mirror.cursor()?.path).toBe(path);
  });

  it("follows a rollout moved to archived_sessions", async () => {
    const home = await temp.make("codex-home");
    const path = await installFixture(home, "basic.jsonl");
    const mirror = RolloutMirror.forNewThread(fixturePlace(home), FIXTURE_THREAD);
    await mirror.read(false);
    const { mkdir } = await import("node:fs/promises");
    await mkdir(`${home}/archived_sessions`);
    const archived = `${home}/archived_sessions/${path.split("/").at(-1) ?? ""}`;
    await rename(path, archived);
    await appendFile(archived, `${NEW_TURN.join("\n")}\n`);
    // A shallow read does not walk the tree; the deep one at the end of a turn does.
    expect((await mirror.read(false)).found).toBe(false);
    const read = await mirror.read(true);
    expect(callIds(read.events)).toEqual(["call:call_next_1", "result:call_next_1"]);
  });

  it("names the first line without an ordinal, and reads it all the same", async () => {
    const home = await temp.make("codex-home");
    const path = await installFixture(home, "basic.jsonl");
    const mirror = RolloutMirror.forNewThread(fixturePlace(home), FIXTURE_THREAD);
    expect((await mirror.read(false)).withoutOrdinal).toBeUndefined();
    const unnumbered =
      '{"timestamp":"t","type":"response_item","payload":{"type":"function_call","name":"x","arguments":"{}","call_id":"call_old_1"}}';
    await appendFile(path, `${unnumbered}\n${NEW_TURN[0] ?? ""}\n`);
    const read = await mirror.read(false);
    expect(read.withoutOrdinal).toBe(unnumbered);
    expect(callIds(read.events)).toEqual(["call:call_old_1", "call:call_next_1"]);
  });

  it("reads only the appended bytes: an unchanged prefix is never parsed again", async () => {
    const home = await temp.make("codex-home");
    const path = await installFixture(home, "basic.jsonl");
    const mirror = RolloutMirror.forNewThread(fixturePlace(home), FIXTURE_THREAD);
    await mirror.read(false);
    // Corrupt the already-read part without changing the bytes before the cursor's tail: a reader
    // that re-parsed it would report the corruption; the mirror does not look.
    const bytes = await readFile(path);
    bytes.write("!", 0);
    await writeFile(path, Buffer.concat([bytes, Buffer.from(`${NEW_TURN[0]}\n`)]));
    const read = await mirror.read(false);
    expect(warnings(read.events)).toEqual([]);
    expect(callIds(read.events)).toEqual(["call:call_next_1"]);
  });
});

async function readBasic(home: string) {
  await installFixture(home, "basic.jsonl");
  return RolloutMirror.forNewThread(fixturePlace(home), FIXTURE_THREAD).read(false);
}

describe("fixtures", () => {
  it("are what the tests say they are", async () => {
    const truncated = (await fixtureBytes("truncated-last.jsonl")).toString("utf8");
    expect(truncated.endsWith("\n")).toBe(false);
    expect(splitLines((await fixtureBytes("basic.jsonl")).toString("utf8"))).toHaveLength(20);
  });
});
