// One yamux stream as a Node Duplex, written from hashicorp/yamux's stream.go: SYN/ACK on the first
// frame each way, FIN for a half-close, RST to abort, and a 256 KiB flow-control window per
// direction that the reader re-opens as it consumes data.
import { Duplex } from "node:stream";

import { Flag, FrameType, INITIAL_STREAM_WINDOW } from "./frame.js";

/** What a stream needs from its session. */
export interface StreamSession {
  /** Writes one frame; `done` runs once the transport has taken it (after `drain` if it was full). */
  writeFrame(
    type: number,
    flags: number,
    streamId: number,
    length: number,
    payload?: Buffer,
  ): Promise<void>;
  /** Forgets a stream that is closed both ways or reset. */
  removeStream(streamId: number): void;
}

type OpenState = "init" | "syn-sent" | "syn-received" | "established";

/** An error a reset stream is destroyed with. */
export class StreamResetError extends Error {
  readonly code = "ECONNRESET";
  constructor(streamId: number) {
    super(`yamux stream ${streamId} was reset by the remote side`);
  }
}

/** A yamux stream. Open one with `YamuxSession.open()`; incoming ones reach `onStream`. */
export class YamuxStream extends Duplex {
  private openState: OpenState;
  private localClosed = false;
  private remoteClosed = false;
  private reset = false;
  private recvWindow = INITIAL_STREAM_WINDOW;
  private sendWindow = INITIAL_STREAM_WINDOW;
  private windowWaiter: (() => void) | undefined;

  constructor(
    private readonly session: StreamSession,
    /** The stream id: odd when the client opened it, even for the server. */
    readonly id: number,
    incoming: boolean,
  ) {
    super({ allowHalfOpen: true });
    this.openState = incoming ? "syn-received" : "init";
  }

  // SYN on our first frame of a stream we open, ACK on our first frame of one we accepted.
  private nextFlags(): number {
    if (this.openState === "init") {
      this.openState = "syn-sent";
      return Flag.SYN;
    }
    if (this.openState === "syn-received") {
      this.openState = "established";
      return Flag.ACK;
    }
    return 0;
  }

  /** Sends the opening SYN or the accepting ACK as a window update, as yamux does. */
  announce(): void {
    this.sendWindowUpdate();
  }

  // hashicorp/yamux sendWindowUpdate: grant what the reader has consumed once that is half the
  // window, or at once when the frame has to carry SYN/ACK anyway.
  private sendWindowUpdate(): void {
    if (this.reset || this.remoteClosed) return;
    const delta = INITIAL_STREAM_WINDOW - this.readableLength - this.recvWindow;
    const flags =
      this.openState === "init" || this.openState === "syn-received" ? this.nextFlags() : 0;
    if (delta < INITIAL_STREAM_WINDOW / 2 && flags === 0) return;
    this.recvWindow += delta;
    void this.session.writeFrame(FrameType.WindowUpdate, flags, this.id, delta).catch(() => {});
  }

  private applyFlags(flags: number): void {
    if ((flags & Flag.ACK) !== 0 && this.openState === "syn-sent") this.openState = "established";
    if ((flags & Flag.RST) !== 0) {
      this.reset = true;
      this.windowWaiter?.();
      this.session.removeStream(this.id);
      this.destroy(new StreamResetError(this.id));
      return;
    }
    if ((flags & Flag.FIN) !== 0 && !this.remoteClosed) {
      this.remoteClosed = true;
      this.push(null);
      if (this.localClosed) this.session.removeStream(this.id);
    }
  }

  /**
   * A Data frame for this stream arrived.
   *
   * @returns false when it overran the receive window (a protocol error that ends the session).
   */
  receiveData(flags: number, payload: Buffer): boolean {
    if (payload.length > this.recvWindow) return false;
    if (payload.length > 0 && !this.remoteClosed && !this.reset) {
      this.recvWindow -= payload.length;
      this.push(payload);
      // In flowing mode an empty buffer hands the chunk straight to 'data', with no read().
      this.sendWindowUpdate();
    }
    this.applyFlags(flags);
    return true;
  }

  /** A WindowUpdate frame for this stream arrived. */
  receiveWindowUpdate(flags: number, delta: number): void {
    this.applyFlags(flags);
    this.sendWindow += delta;
    const waiter = this.windowWaiter;
    this.windowWaiter = undefined;
    waiter?.();
  }

  /** The session ended underneath the stream; `error` is undefined after a normal close. */
  abort(error: Error | undefined): void {
    this.reset = true;
    const waiter = this.windowWaiter;
    this.windowWaiter = undefined;
    waiter?.();
    this.destroy(error);
  }

  override _read(): void {
    this.sendWindowUpdate();
  }

  // Node calls _read only until it has a buffer to drain, and not again before the next push; a
  // sender that used up the window pushes nothing more. So re-open the window as data is read.
  override read(size?: number): unknown {
    const chunk: unknown = super.read(size);
    this.sendWindowUpdate();
    return chunk;
  }

  override _write(
    chunk: Buffer,
    _encoding: BufferEncoding,
    callback: (error?: Error | null) => void,
  ): void {
    this.writeAll(chunk).then(() => callback(), callback);
  }

  private async writeAll(chunk: Buffer): Promise<void> {
    let rest = chunk;
    while (rest.length > 0) {
      if (this.reset) throw new StreamResetError(this.id);
      if (this.sendWindow === 0) {
        await new Promise<void>((resolve) => {
          this.windowWaiter = resolve;
        });
        continue;
      }
      const size = Math.min(this.sendWindow, rest.length);
      this.sendWindow -= size;
      const part = rest.subarray(0, size);
      rest = rest.subarray(size);
      await this.session.writeFrame(FrameType.Data, this.nextFlags(), this.id, size, part);
    }
  }

  // end(): half-close with FIN, as Stream.Close does.
  override _final(callback: (error?: Error | null) => void): void {
    if (this.reset) {
      callback();
      return;
    }
    this.localClosed = true;
    this.session
      .writeFrame(FrameType.WindowUpdate, this.nextFlags() | Flag.FIN, this.id, 0)
      .then(() => {
        if (this.remoteClosed) this.session.removeStream(this.id);
        callback();
      }, callback);
  }

  // destroy() before both sides closed: abort the stream for the peer with RST.
  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (!this.reset && !(this.localClosed && this.remoteClosed)) {
      this.reset = true;
      void this.session.writeFrame(FrameType.WindowUpdate, Flag.RST, this.id, 0).catch(() => {});
    }
    this.session.removeStream(this.id);
    const waiter = this.windowWaiter;
    this.windowWaiter = undefined;
    waiter?.();
    callback(error);
  }
}
