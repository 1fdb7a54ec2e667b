import { describe, expect, it } from "vitest";

import { encodeFrame, FrameDecoder, FrameError } from "../../../../internal/mcp/frame.js";

function header(length: number): Buffer {
  const buffer = Buffer.alloc(4);
  buffer.writeUInt32BE(length, 0);
  return buffer;
}

describe("frames", () => {
  it("round-trips messages, several per chunk", () => {
    const decoder = new FrameDecoder();
    const chunk = Buffer.concat([
      encodeFrame({ type: "hello", agent_id: "ä🤖" }),
      encodeFrame({ type: "list_tools", id: 1 }),
    ]);
    expect(decoder.push(chunk)).toEqual([
      { type: "hello", agent_id: "ä🤖" },
      { type: "list_tools", id: 1 },
    ]);
    expect(decoder.pendingBytes).toBe(0);
  });

  it("reassembles a frame delivered one byte at a time", () => {
    const decoder = new FrameDecoder();
    const frame = encodeFrame({ type: "call_tool", id: 7, text: "x".repeat(1000) });
    const out: unknown[] = [];
    for (const byte of frame) out.push(...decoder.push(Buffer.from([byte])));
    expect(out).toEqual([{ type: "call_tool", id: 7, text: "x".repeat(1000) }]);
  });

  it("keeps a partial frame until the rest arrives", () => {
    const decoder = new FrameDecoder();
    const frame = encodeFrame({ a: 1 });
    expect(decoder.push(frame.subarray(0, 6))).toEqual([]);
    expect(decoder.pendingBytes).toBe(6);
    expect(decoder.push(frame.subarray(6))).toEqual([{ a: 1 }]);
  });

  it("rejects an oversized header at once, before the payload arrives", () => {
    const decoder = new FrameDecoder(1024);
    expect(() => decoder.push(header(1025))).toThrow(FrameError);
    expect(() => new FrameDecoder().push(Buffer.from("{{{{ not a frame"))).toThrow(
      /exceeds 16777216 bytes/,
    );
  });

  it.each([
    ["an empty frame", header(0), /empty frame/],
    ["a non-JSON payload", Buffer.concat([header(3), Buffer.from("abc")]), /not UTF-8 JSON/],
    [
      "invalid UTF-8",
      Buffer.concat([header(3), Buffer.from([0x22, 0xff, 0x22])]),
      /not UTF-8 JSON/,
    ],
    ["a JSON array", Buffer.concat([header(2), Buffer.from("[]")]), /does not hold a JSON object/],
    [
      "a JSON string",
      Buffer.concat([header(4), Buffer.from('"hi"')]),
      /does not hold a JSON object/,
    ],
  ])("rejects %s", (_name, bytes, message) => {
    expect(() => new FrameDecoder().push(bytes)).toThrow(message);
  });

  it("stays failed after a bad frame", () => {
    const decoder = new FrameDecoder();
    expect(() => decoder.push(header(0))).toThrow(FrameError);
    expect(() => decoder.push(encodeFrame({ ok: true }))).toThrow(/already broke the framing/);
  });

  it("refuses to encode a frame over the limit", () => {
    expect(() => encodeFrame({ big: "x".repeat(17 * 1024 * 1024) })).toThrow(FrameError);
  });
});
