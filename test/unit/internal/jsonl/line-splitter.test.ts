import { describe, expect, it } from "vitest";

import { LineSplitter, type SplitLine } from "../../../../internal/jsonl/line-splitter.js";
import { parseJsonLine } from "../../../../internal/jsonl/parse-line.js";

function feed(splitter: LineSplitter, chunks: (string | Buffer)[]): SplitLine[] {
  const out = chunks.flatMap((chunk) =>
    splitter.push(typeof chunk === "string" ? Buffer.from(chunk) : chunk),
  );
  return [...out, ...splitter.end()];
}

function texts(lines: SplitLine[]): string[] {
  return lines.map((line) => (line.kind === "line" ? line.text : `<oversize ${line.bytes}>`));
}

describe("LineSplitter", () => {
  it("joins lines split across chunks and splits chunks holding several lines", () => {
    const lines = feed(new LineSplitter(), ['{"a":', '1}\n{"b":2}\n{"c"', ":3}\n"]);
    expect(texts(lines)).toEqual(['{"a":1}', '{"b":2}', '{"c":3}']);
    expect(lines.map((line) => line.lineNumber)).toEqual([1, 2, 3]);
  });

  it("strips a trailing carriage return and keeps empty lines", () => {
    expect(texts(feed(new LineSplitter(), ["one\r\n\r\ntwo\n"]))).toEqual(["one", "", "two"]);
  });

  it("flushes a final line without a newline", () => {
    expect(texts(feed(new LineSplitter(), ["one\ntwo"]))).toEqual(["one", "two"]);
    expect(texts(feed(new LineSplitter(), ["one\n"]))).toEqual(["one"]);
  });

  it("decodes a multi-byte character split between chunks", () => {
    const bytes = Buffer.from("héllo ✓ 𝄞\n");
    const chunks = [...bytes].map((byte) => Buffer.from([byte]));
    expect(texts(feed(new LineSplitter(), chunks))).toEqual(["héllo ✓ 𝄞"]);
  });

  it("replaces invalid UTF-8 instead of throwing", () => {
    const lines = feed(new LineSplitter(), [Buffer.from([0x61, 0xff, 0xfe, 0x62, 0x0a])]);
    expect(texts(lines)).toEqual(["a\uFFFD\uFFFDb"]);
  });

  it("skips a line over the limit, reports its size, and resumes with the next line", () => {
    const splitter = new LineSplitter(10);
    const lines = feed(splitter, ["short\n", "0123456789", "abcdef", "ghij\n", "after\n"]);
    expect(texts(lines)).toEqual(["short", "<oversize 20>", "after"]);
    expect(lines.map((line) => line.lineNumber)).toEqual([1, 2, 3]);
  });

  it("does not keep the oversize line's bytes while it streams past", () => {
    const splitter = new LineSplitter(1024);
    // 64 MiB streamed in 1 MiB chunks: if the splitter buffered them it would hold 64 MiB.
    const chunk = Buffer.alloc(1024 * 1024, 0x61);
    const before = process.memoryUsage().arrayBuffers;
    for (let index = 0; index < 64; index += 1) splitter.push(chunk);
    const grown = process.memoryUsage().arrayBuffers - before;
    expect(grown).toBeLessThan(16 * 1024 * 1024);
    expect(splitter.push(Buffer.from("\n"))).toEqual([
      { kind: "oversize", lineNumber: 1, bytes: 64 * 1024 * 1024 },
    ]);
  });

  it("accepts a line of exactly the limit", () => {
    expect(texts(feed(new LineSplitter(5), ["12345\n"]))).toEqual(["12345"]);
  });

  it("skips an oversize line that arrives whole inside one chunk", () => {
    const lines = feed(new LineSplitter(5), ["ab\n123456\r\ncd\r\n", "e", "f\n"]);
    expect(texts(lines)).toEqual(["ab", "<oversize 7>", "cd", "ef"]);
    expect(lines.map((line) => line.lineNumber)).toEqual([1, 2, 3, 4]);
  });

  it("returns text that does not change when the caller reuses its chunk buffer", () => {
    const splitter = new LineSplitter();
    const chunk = Buffer.from("first\nsecond\nthi");
    const lines = splitter.push(chunk);
    chunk.fill(0x78);
    chunk.write("rd\n", 0);
    expect(texts([...lines, ...splitter.push(chunk.subarray(0, 3))])).toEqual([
      "first",
      "second",
      "third",
    ]);
  });
});

describe("parseJsonLine", () => {
  it("returns the value for valid JSON", () => {
    expect(parseJsonLine('{"type":"x","n":1}')).toEqual({ ok: true, value: { type: "x", n: 1 } });
  });

  it("returns an error result instead of throwing", () => {
    const result = parseJsonLine('{"type":');
    expect(result.ok).toBe(false);
    expect(result.ok ? "" : result.error).toMatch(/JSON/);
    expect(parseJsonLine("   ")).toMatchObject({ ok: false, error: "empty line" });
  });
});
