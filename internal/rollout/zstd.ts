// zstd for `.jsonl.zst` rollouts: node:zlib's where node has one that reads multi-frame streams
// (Node 24). Node 20 and 22 have none that does: decompression is then fzstd (pure JS, streaming), compression the reference zstd
// library compiled to WebAssembly (@hpcc-js/wasm-zstd, the wasm embedded in its JS). Those load on
// first use, so plain rollouts, and newer nodes, never pay for them.
import { Readable, type Transform } from "node:stream";
import * as zlib from "node:zlib";

/** node:zlib's zstd, which @types/node 20 does not declare. */
interface NodeZstd {
  createZstdDecompress(): Transform;
  zstdCompressSync(data: Uint8Array, options: { params: Record<number, number> }): Buffer;
  constants: { ZSTD_c_compressionLevel: number };
}

/**
 * node:zlib's zstd when this node has it and it reads every frame of a stream: Node 22.23's
 * decompressor silently stops after the first frame (24.22's does not), and the rollouts Consume
 * writes are many frames. Decided once, at load, by reading a two-frame sample.
 */
const NODE_ZSTD: NodeZstd | undefined = (() => {
  const candidate = zlib as unknown as Partial<NodeZstd> & {
    zstdDecompressSync?: (data: Uint8Array) => Buffer;
  };
  if (
    typeof candidate.createZstdDecompress !== "function" ||
    typeof candidate.zstdCompressSync !== "function" ||
    typeof candidate.zstdDecompressSync !== "function" ||
    typeof candidate.constants?.ZSTD_c_compressionLevel !== "number"
  ) {
    return undefined;
  }
  try {
    const params = { [candidate.constants.ZSTD_c_compressionLevel]: 1 };
    const frames = Buffer.concat([
      candidate.zstdCompressSync(Buffer.from("first frame;"), { params }),
      candidate.zstdCompressSync(Buffer.from("second frame"), { params }),
    ]);
    const read = candidate.zstdDecompressSync(frames).toString("utf8");
    return read === "first frame;second frame" ? (candidate as NodeZstd) : undefined;
  } catch {
    return undefined;
  }
})();

/** node:zlib's zstd when it can be used (see NODE_ZSTD). */
function nodeZstd(): NodeZstd | undefined {
  return NODE_ZSTD;
}

/** The suffix codex gives compressed rollouts. */
export const ZSTD_SUFFIX = ".zst";

/** True for a `.jsonl.zst` path. */
export function isZstdPath(path: string): boolean {
  return path.endsWith(ZSTD_SUFFIX);
}

/**
 * Decompresses a zstd stream of one or more frames, chunk by chunk: memory holds the zstd window
 * and one chunk, never the whole content. Throws on corrupt or truncated input.
 */
export async function* zstdDecompress(
  source: AsyncIterable<Uint8Array>,
): AsyncGenerator<Buffer, void, undefined> {
  const native = nodeZstd();
  if (native !== undefined) {
    let empty = true;
    const counted = (async function* () {
      for await (const chunk of source) {
        if (chunk.length > 0) empty = false;
        yield chunk;
      }
    })();
    const decompress = Readable.from(counted).pipe(native.createZstdDecompress());
    for await (const chunk of decompress) yield chunk as Buffer;
    if (empty) throw new Error("zstd stream is empty");
    return;
  }
  const { Decompress } = await import("fzstd");
  let out: Buffer[] = [];
  // fzstd may hand out views of its own window; copy before it moves on.
  const decoder = new Decompress((data) => {
    if (data.length > 0) out.push(Buffer.from(data));
  });
  // push() must be told which chunk is the last, so one chunk is held back.
  let held: Uint8Array | undefined;
  for await (const chunk of source) {
    if (held !== undefined) {
      decoder.push(held, false);
      yield* out;
      out = [];
    }
    held = chunk;
  }
  if (held === undefined || held.length === 0) {
    throw new Error("zstd stream is empty");
  }
  decoder.push(held, true);
  yield* out;
}

/** Raw bytes per zstd frame written by {@link ZstdFrameEncoder}. */
export const ZSTD_FRAME_BYTES = 4 * 1024 * 1024;

/**
 * Compresses a stream as a sequence of independent zstd frames of at most {@link ZSTD_FRAME_BYTES}
 * raw bytes each. A concatenation of frames is a valid zstd stream (RFC 8878 §3.1); codex 0.169.0
 * reads it, and the one-shot compressor keeps no state shared between concurrent encoders.
 */
export class ZstdFrameEncoder {
  readonly #compress: (data: Uint8Array) => Uint8Array;
  #pending: Buffer[] = [];
  #pendingBytes = 0;

  private constructor(compress: (data: Uint8Array) => Uint8Array) {
    this.#compress = compress;
  }

  /** node:zlib's compressor, else loads the WebAssembly one (once per process). */
  static async create(level = 3): Promise<ZstdFrameEncoder> {
    const native = nodeZstd();
    if (native !== undefined) {
      const params = { [native.constants.ZSTD_c_compressionLevel]: level };
      return new ZstdFrameEncoder((data) => native.zstdCompressSync(data, { params }));
    }
    const { Zstd } = await import("@hpcc-js/wasm-zstd");
    const zstd = await Zstd.load();
    return new ZstdFrameEncoder((data) => zstd.compress(data, level));
  }

  /** Buffers `data`; returns the frames completed by it (possibly none). */
  push(data: Uint8Array): Buffer[] {
    const frames: Buffer[] = [];
    let rest = data;
    while (rest.length > 0) {
      const room = ZSTD_FRAME_BYTES - this.#pendingBytes;
      const take = rest.subarray(0, room);
      this.#pending.push(Buffer.from(take));
      this.#pendingBytes += take.length;
      rest = rest.subarray(take.length);
      if (this.#pendingBytes === ZSTD_FRAME_BYTES) frames.push(this.#frame());
    }
    return frames;
  }

  /** Compresses what is left; returns the last frame, if any. */
  end(): Buffer[] {
    return this.#pendingBytes === 0 ? [] : [this.#frame()];
  }

  #frame(): Buffer {
    const raw = Buffer.concat(this.#pending, this.#pendingBytes);
    this.#pending = [];
    this.#pendingBytes = 0;
    return Buffer.from(this.#compress(raw));
  }
}

/** Compresses a whole buffer (tests and fixtures). */
export async function zstdCompress(data: Uint8Array, level = 3): Promise<Buffer> {
  const encoder = await ZstdFrameEncoder.create(level);
  return Buffer.concat([...encoder.push(data), ...encoder.end()]);
}
