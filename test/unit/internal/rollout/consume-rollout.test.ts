import { chmod, readdir, readFile, stat, utimes, writeFile } from "node:fs/promises";
import { dirname } from "node:path";

import { afterEach, describe, expect, it } from "vitest";

import { isAppError } from "../../../../internal/core/app-error.js";
import {
  CONSUMED_ARGUMENTS,
  CONSUMED_MARKER,
  consumeRollout,
} from "../../../../internal/rollout/consume-rollout.js";
import { readRolloutContent } from "../../../../internal/rollout/rollout-content.js";
import { RolloutMirror } from "../../../../internal/rollout/rollout-mirror.js";
import { createTempDirs } from "../../../helpers/temp-dirs.js";
import { FIXTURE_THREAD, fixturePlace, installFixture, splitLines } from "./rollout-fixtures.js";

const temp = createTempDirs();
afterEach(() => temp.removeAll());

async function content(path: string): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of readRolloutContent(path)) chunks.push(chunk);
  return Buffer.concat(chunks).toString("utf8");
}

type Json = Record<string, unknown> & { payload: Record<string, unknown> };

function parse(line: string): Json {
  return JSON.parse(line) as Json;
}

// Every line but the listed ones is byte-identical; the listed ones keep type and ordinal.
function expectOnlyChanged(before: string, after: string, changed: number[]): void {
  const old = splitLines(before);
  const now = splitLines(after);
  expect(now).toHaveLength(old.length);
  old.forEach((line, index) => {
    if (changed.includes(index)) {
      expect(now[index], `line ${index + 1}`).not.toBe(line);
      const [a, b] = [parse(line), parse(now[index] ?? "")];
      expect({ type: b.type, ordinal: b.ordinal, timestamp: b.timestamp }).toEqual({
        type: a.type,
        ordinal: a.ordinal,
        timestamp: a.timestamp,
      });
    } else {
      expect(now[index], `line ${index + 1}`).toBe(line);
    }
  });
  expect(after.endsWith("\n")).toBe(before.endsWith("\n"));
}

function lineIndex(text: string, needle: string): number {
  return splitLines(text).findIndex((line) => line.includes(needle));
}

describe("consumeRollout", () => {
  it("elides arguments and output of function and custom tool calls, nothing else", async () => {
    const path = await installFixture(await temp.make("codex-home"), "basic.jsonl");
    const before = await content(path);
    const outcome = await consumeRollout(path, ["call_sh_1", "call_patch_1", "call_mcp_1"]);
    expect(outcome).toMatchObject({
      rewritten: ["call_sh_1", "call_patch_1", "call_mcp_1"],
      alreadyConsumed: [],
      notFound: [],
      written: true,
    });
    const after = await content(path);
    const call = lineIndex(before, '"call_id":"call_sh_1","internal');
    const output = lineIndex(before, '"fco_1"');
    const mcpCall = lineIndex(before, '"call_mcp_1","internal');
    const mcpOutput = lineIndex(before, '"fco_2"');
    const patch = lineIndex(before, '"ctc_1"');
    const patchOutput = lineIndex(before, '"ctco_1"');
    expectOnlyChanged(before, after, [call, output, mcpCall, mcpOutput, patch, patchOutput]);
    const lines = splitLines(after).map(parse);
    expect(lines[call]?.payload["arguments"]).toBe(CONSUMED_ARGUMENTS);
    expect(lines[output]?.payload["output"]).toBe(CONSUMED_MARKER);
    expect(lines[mcpOutput]?.payload["output"]).toBe(CONSUMED_MARKER);
    expect(lines[patch]?.payload["input"]).toBe(CONSUMED_ARGUMENTS);
    expect(lines[patchOutput]?.payload["output"]).toBe(CONSUMED_MARKER);
    // The rest of an edited line is kept: ids, name, namespace, metadata.
    expect(lines[mcpCall]).toEqual({
      ...parse(splitLines(before)[mcpCall] ?? ""),
      payload: { ...parse(splitLines(before)[mcpCall] ?? "").payload, arguments: "{}" },
    });
    // The UI-side item_completed record is not model context and stays as it was.
    expect(after).toContain('"aggregated_output":"hi\\n"');
  });

  it("is idempotent: a second consume reports already_consumed and writes nothing", async () => {
    const path = await installFixture(await temp.make("codex-home"), "basic.jsonl");
    await consumeRollout(path, ["call_sh_1"]);
    const bytes = await readFile(path);
    const first = await stat(path);
    const again = await consumeRollout(path, ["call_sh_1", "call_sh_1"]);
    expect(again).toEqual({
      rewritten: [],
      alreadyConsumed: ["call_sh_1"],
      notFound: [],
      written: false,
    });
    const second = await stat(path);
    expect(await readFile(path)).toEqual(bytes);
    expect({ ino: second.ino, mtimeMs: second.mtimeMs }).toEqual({
      ino: first.ino,
      mtimeMs: first.mtimeMs,
    });
  });

  it("reports unknown ids, empty ids and nested code-mode ids as not found", async () => {
    const path = await installFixture(await temp.make("codex-home"), "basic.jsonl");
    const bytes = await readFile(path);
    const outcome = await consumeRollout(path, [
      "call_nope",
      "",
      "exec-3fffe40c-99e5-4321-a410-d3b8fc174cfe",
    ]);
    expect(outcome).toEqual({
      rewritten: [],
      alreadyConsumed: [],
      notFound: ["call_nope", "", "exec-3fffe40c-99e5-4321-a410-d3b8fc174cfe"],
      written: false,
    });
    expect(await readFile(path)).toEqual(bytes);
  });

  it("rewrites the copies in compacted.replacement_history too", async () => {
    const path = await installFixture(await temp.make("codex-home"), "compacted.jsonl");
    const before = await content(path);
    const outcome = await consumeRollout(path, ["call_old_1", "call_new_1"]);
    expect(outcome.rewritten).toEqual(["call_old_1", "call_new_1"]);
    const after = await content(path);
    const compacted = lineIndex(before, '"type":"compacted"');
    const changed = [
      lineIndex(before, '"fc_1"'),
      lineIndex(before, '"fco_1"'),
      compacted,
      lineIndex(before, '"fc_2"'),
      lineIndex(before, '"fco_2"'),
    ];
    expectOnlyChanged(before, after, changed);
    const history = splitLines(after).map(parse)[compacted]?.payload["replacement_history"];
    expect(history).toEqual([
      { type: "message", role: "user", content: [{ type: "input_text", text: "first" }] },
      { type: "function_call", name: "exec_command", arguments: "{}", call_id: "call_old_1" },
      { type: "function_call_output", call_id: "call_old_1", output: CONSUMED_MARKER },
      {
        type: "message",
        role: "user",
        content: [{ type: "input_text", text: "summary of earlier work" }],
      },
    ]);
    expect(after).not.toContain("BIG LOG CONTENT");
    expect(after).toContain("summary of earlier work");
  });

  it("copies corrupt lines byte for byte and consumes around them", async () => {
    const path = await installFixture(await temp.make("codex-home"), "corrupt-middle.jsonl");
    const before = await content(path);
    // The garbage line even mentions the id; it is not a rollout record, so it stays.
    const outcome = await consumeRollout(path, ["call_sh_1"]);
    expect(outcome.rewritten).toEqual(["call_sh_1"]);
    const after = await content(path);
    expectOnlyChanged(before, after, [
      lineIndex(before, '"call_id":"call_sh_1","internal'),
      lineIndex(before, '"fco_1"'),
    ]);
    expect(after).toContain('not json at all, "call_id":"call_sh_1"\n');
  });

  it("never edits a last line cut short, and keeps it without a newline", async () => {
    const path = await installFixture(await temp.make("codex-home"), "truncated-last.jsonl");
    const before = await content(path);
    const outcome = await consumeRollout(path, ["call_late_1"]);
    expect(outcome.rewritten).toEqual(["call_late_1"]);
    const after = await content(path);
    expectOnlyChanged(before, after, [lineIndex(before, '"fc_9"')]);
    expect(after.endsWith("\n")).toBe(false);
    expect(after.slice(after.lastIndexOf("\n"))).toBe(before.slice(before.lastIndexOf("\n")));
    expect(splitLines(after).at(-1)).toContain('"call_id":"call_late_1","output":"partial');
  });

  it("rewrites a .jsonl.zst rollout as zstd that decompresses to the same edit", async () => {
    const home = await temp.make("codex-home");
    const plain = await installFixture(home, "basic.jsonl");
    await consumeRollout(plain, ["call_sh_1", "call_code_1"]);
    const zst = await installFixture(home, "basic.jsonl.zst");
    const outcome = await consumeRollout(zst, ["call_sh_1", "call_code_1"]);
    expect(outcome.rewritten).toEqual(["call_sh_1", "call_code_1"]);
    const raw = await readFile(zst);
    expect(raw.readUInt32LE(0)).toBe(0xfd2fb528); // the zstd frame magic number
    expect(await content(zst)).toBe(await readFile(plain, "utf8"));
  });

  it("keeps the file's mode and modification time, and leaves no temp file", async () => {
    const path = await installFixture(await temp.make("codex-home"), "basic.jsonl");
    await chmod(path, 0o640);
    const mtime = new Date("2026-11-20T10:00:00Z");
    await utimes(path, mtime, mtime);
    await consumeRollout(path, ["call_sh_1"]);
    const after = await stat(path);
    expect(after.mode & 0o7777).toBe(0o640);
    expect(after.mtime.getTime()).toBe(mtime.getTime());
    expect((await readdir(dirname(path))).filter((name) => name.startsWith("."))).toEqual([]);
  });

  it("abandons the rewrite when beforeCommit throws, leaving the file untouched", async () => {
    const path = await installFixture(await temp.make("codex-home"), "basic.jsonl");
    const bytes = await readFile(path);
    await expect(
      consumeRollout(path, ["call_sh_1"], {
        beforeCommit: () => Promise.reject(new Error("codex took the lock")),
      }),
    ).rejects.toThrow("codex took the lock");
    expect(await readFile(path)).toEqual(bytes);
    expect(await readdir(dirname(path))).toHaveLength(1);
  });

  it("refuses to touch a file whose first line is not session metadata", async () => {
    const path = await installFixture(await temp.make("codex-home"), "basic.jsonl");
    const text = await readFile(path, "utf8");
    await writeFile(path, text.slice(text.indexOf("\n") + 1));
    const error = await consumeRollout(path, ["call_sh_1"]).catch((caught: unknown) => caught);
    expect(isAppError(error) && error.code).toBe("ROLLOUT_CORRUPT");
  });

  it("moves a tracked cursor so the mirror resumes exactly after the rewrite", async () => {
    const home = await temp.make("codex-home");
    const path = await installFixture(home, "basic.jsonl");
    const mirror = RolloutMirror.forNewThread(fixturePlace(home), FIXTURE_THREAD);
    await mirror.read(false);
    const cursor = mirror.cursor();
    if (cursor === undefined) throw new Error("no cursor");
    const outcome = await consumeRollout(path, ["call_sh_1"], {
      track: { offset: cursor.offset, before: Buffer.from(cursor.tail, "base64") },
    });
    const size = (await stat(path)).size;
    expect(outcome.tracked?.offset).toBe(size);
    const bytes = await readFile(path);
    expect(outcome.tracked?.before).toEqual(bytes.subarray(size - 64));

    // A cursor in the middle, just after the consumed output line: the edits after it do not
    // move it, the one before it does.
    const outputEnd = bytes.indexOf("\n", bytes.indexOf('"fco_1"')) + 1;
    const before = bytes.subarray(outputEnd - 64, outputEnd);
    const middle = await consumeRollout(path, ["call_patch_1"], {
      track: { offset: outputEnd, before },
    });
    expect(middle.tracked).toEqual({ offset: outputEnd, before });
  });

  it("does not follow a cursor that no longer matches the file", async () => {
    const home = await temp.make("codex-home");
    const path = await installFixture(home, "basic.jsonl");
    const size = (await stat(path)).size;
    const stale = { offset: size, before: Buffer.alloc(64, "x") };
    const outcome = await consumeRollout(path, ["call_sh_1"], { track: stale });
    expect(outcome.written).toBe(true);
    expect(outcome.tracked).toBeUndefined();
    // Not at a line boundary either.
    const bytes = await readFile(path);
    const inside = { offset: 100, before: bytes.subarray(36, 100) };
    expect(
      (await consumeRollout(path, ["call_patch_1"], { track: inside })).tracked,
    ).toBeUndefined();
  });

  it("streams: a rollout with a multi-megabyte output line and many lines", async () => {
    const home = await temp.make("codex-home");
    const path = await installFixture(home, "basic.jsonl");
    const big = "x".repeat(3 * 1024 * 1024);
    const lines: string[] = [];
    for (let index = 0; index < 2000; index += 1) {
      lines.push(
        JSON.stringify({
          ordinal: 100 + index,
          type: "response_item",
          payload: { type: "function_call_output", call_id: `c${index}`, output: `o${index}` },
        }),
      );
    }
    lines.push(
      JSON.stringify({
        ordinal: 9999,
        type: "response_item",
        payload: { type: "function_call_output", call_id: "call_big", output: big },
      }),
    );
    await writeFile(path, `${await readFile(path, "utf8")}${lines.join("\n")}\n`);
    const outcome = await consumeRollout(path, ["call_big", "c1999"]);
    expect(outcome.rewritten).toEqual(["call_big", "c1999"]);
    const after = await readFile(path, "utf8");
    expect(after).not.toContain(big);
    expect(after).toContain('"call_id":"c1998","output":"o1998"');
    expect(after.endsWith('"call_id":"call_big","output":"...(tool called)"}}\n')).toBe(true);
  });
});
