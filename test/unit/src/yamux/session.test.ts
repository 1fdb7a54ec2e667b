// The yamux session against itself over a real unix socket: framing split at every byte, flow
// control past the 256 KiB window with a slow reader, half-close and reset.
import { randomBytes } from "node:crypto";
import { connect, createServer, type Socket } from "node:net";
import { join } from "node:path";

import { afterAll, describe, expect, it } from "vitest";

import { encodeHeader, Flag, FrameReader, FrameType } from "../../../../src/yamux/frame.js";
import { YamuxSession } from "../../../../src/yamux/session.js";
import type { YamuxStream } from "../../../../src/yamux/stream.js";
import { createTempDirs } from "../../../helpers/temp-dirs.js";

const dirs = createTempDirs();
afterAll(() => dirs.removeAll());

async function pair(onStream: (stream: YamuxStream) => void): Promise<{
  client: YamuxSession;
  server: YamuxSession;
  close(): void;
}> {
  const path = join(await dirs.make("yamux"), "s.sock");

  const accepted = new Promise<Socket>((resolve) => {
    const listener = createServer((socket) => {
      listener.close();
      resolve(socket);
    }).listen(path);
  });
  const socket = connect({ path });
  const serverSocket = await accepted;
  const serverSession = new YamuxSession(serverSocket, { client: false, onStream });
  const client = new YamuxSession(socket, { client: true });
  return {
    client,
    server: serverSession,
    close: () => {
      client.close();
      serverSession.close();
    },
  };
}

function collect(stream: YamuxStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  stream.on("data", (chunk: Buffer) => chunks.push(chunk));
  return new Promise((resolve, reject) => {
    stream.on("end", () => resolve(Buffer.concat(chunks)));
    stream.on("error", reject);
  });
}

describe("FrameReader", () => {
  it("reassembles frames however the bytes are split", () => {
    const payload = Buffer.from("hello yamux");
    const wire = Buffer.concat([
      encodeHeader(FrameType.WindowUpdate, Flag.SYN, 1, 0),
      encodeHeader(FrameType.Data, 0, 1, payload.length),
      payload,
      encodeHeader(FrameType.Ping, Flag.SYN, 0, 7),
    ]);
    const reader = new FrameReader(1024);
    const frames = [];
    for (const byte of wire) frames.push(...reader.push(Buffer.from([byte])));
    expect(frames.map((f) => [f.header.type, f.header.flags, f.header.length])).toEqual([
      [FrameType.WindowUpdate, Flag.SYN, 0],
      [FrameType.Data, 0, payload.length],
      [FrameType.Ping, Flag.SYN, 7],
    ]);
    expect(frames[1]?.payload.toString()).toBe("hello yamux");
  });

  it("refuses a data frame larger than the window at its header", () => {
    const reader = new FrameReader(16);
    expect(() => reader.push(encodeHeader(FrameType.Data, 0, 1, 17))).toThrow(/exceeds/);
  });
});

describe("YamuxSession", () => {
  it("moves 2 MiB each way through one stream, past the window, to a slow reader", async () => {
    const up = randomBytes(2 * 1024 * 1024);
    const down = randomBytes(2 * 1024 * 1024);
    let received: Promise<Buffer> | undefined;
    const { client, close } = await pair((stream) => {
      // A reader that pauses: the writer must wait for window updates, not overrun the window.
      stream.pause();
      setTimeout(() => stream.resume(), 200);
      received = collect(stream);
      stream.end(down);
    });
    try {
      const stream = client.open();
      const back = collect(stream);
      stream.end(up);
      expect((await back).equals(down)).toBe(true);
      expect((await received!).equals(up)).toBe(true);
    } finally {
      close();
    }
  });

  it("keeps streams apart and carries a reset to the peer", async () => {
    const seen: YamuxStream[] = [];
    const { client, close } = await pair((stream) => seen.push(stream));
    try {
      const a = client.open();
      const b = client.open();
      expect([a.id, b.id]).toEqual([1, 3]);
      a.write("to a");
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(seen.map((stream) => stream.id)).toEqual([1, 3]);
      const errored = new Promise<Error>((resolve) => seen[1]!.once("error", resolve));
      b.destroy();
      expect((await errored).message).toMatch(/reset/);
      expect((seen[0]!.read() as Buffer).toString()).toBe("to a");
    } finally {
      close();
    }
  });
});
