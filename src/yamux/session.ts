// A yamux session over one connection, written from hashicorp/yamux's spec.md and session.go. It
// is the transport of go-plugin's multiplexed gRPC broker (go-plugin >= 1.6, internal/grpcmux):
// the host is the yamux client, the plugin the server.
import type { Duplex } from "node:stream";

import {
  encodeHeader,
  Flag,
  type Frame,
  FrameReader,
  FrameType,
  GoAway,
  INITIAL_STREAM_WINDOW,
} from "./frame.js";
import { YamuxStream } from "./stream.js";

/** Options for {@link YamuxSession}. */
export interface YamuxSessionOptions {
  /** The yamux client (odd stream ids) or server (even ids). */
  client: boolean;
  /** Receives every stream the peer opens. Without it, incoming streams are refused with RST. */
  onStream?: (stream: YamuxStream) => void;
  /** Called once when the session ends; `error` is undefined after a normal close. */
  onClose?: (error: Error | undefined) => void;
}

/** A yamux session. Create it over a connected socket; {@link close} ends it. */
export class YamuxSession {
  private readonly reader = new FrameReader(INITIAL_STREAM_WINDOW);
  private readonly streams = new Map<number, YamuxStream>();
  private nextId: number;
  private closedWith: Error | undefined | null = null;
  private remoteGoAway = false;

  constructor(
    private readonly conn: Duplex,
    private readonly options: YamuxSessionOptions,
  ) {
    this.nextId = options.client ? 1 : 2;
    conn.on("data", (chunk: Buffer) => this.receive(chunk));
    conn.on("error", (error: Error) => this.terminate(error));
    conn.on("close", () => this.terminate(new Error("yamux connection closed")));
    conn.on("end", () => this.terminate(new Error("yamux connection ended")));
  }

  /** True once the session has ended. */
  get closed(): boolean {
    return this.closedWith !== null;
  }

  /** Opens a stream; its SYN goes out at once, so data may follow without waiting for the ACK. */
  open(): YamuxStream {
    if (this.closedWith !== null) throw new Error("yamux session is closed");
    if (this.remoteGoAway) throw new Error("yamux peer is not accepting streams (go away)");
    const stream = new YamuxStream(this, this.nextId, false);
    this.nextId += 2;
    this.streams.set(stream.id, stream);
    stream.announce();
    return stream;
  }

  /** Sends GoAway, ends the connection and aborts every stream. */
  close(): void {
    if (this.closedWith !== null) return;
    this.conn.write(encodeHeader(FrameType.GoAway, 0, 0, GoAway.Normal));
    this.conn.end();
    this.terminate(undefined);
  }

  /** @internal */
  writeFrame(
    type: number,
    flags: number,
    streamId: number,
    length: number,
    payload?: Buffer,
  ): Promise<void> {
    if (this.closedWith !== null) return Promise.reject(new Error("yamux session is closed"));
    const header = encodeHeader(type, flags, streamId, length);
    const flushed = this.conn.write(
      payload === undefined ? header : Buffer.concat([header, payload]),
    );
    if (flushed) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        this.conn.off("drain", done);
        this.conn.off("close", done);
        resolve();
      };
      this.conn.once("drain", done);
      this.conn.once("close", done);
    });
  }

  /** @internal */
  removeStream(streamId: number): void {
    this.streams.delete(streamId);
  }

  private terminate(error: Error | undefined): void {
    if (this.closedWith !== null) return;
    this.closedWith = error;
    for (const stream of this.streams.values()) stream.abort(error);
    this.streams.clear();
    if (!this.conn.destroyed) this.conn.destroy();
    this.options.onClose?.(error);
  }

  private protocolError(message: string): void {
    if (this.closedWith !== null) return;
    this.conn.write(encodeHeader(FrameType.GoAway, 0, 0, GoAway.ProtocolError));
    this.terminate(new Error(`yamux protocol error: ${message}`));
  }

  private receive(chunk: Buffer): void {
    let frames: Frame[];
    try {
      frames = this.reader.push(chunk);
    } catch (error) {
      this.protocolError((error as Error).message);
      return;
    }
    for (const frame of frames) {
      if (this.closedWith !== null) return;
      this.handle(frame);
    }
  }

  private handle({ header, payload }: Frame): void {
    if (header.version !== 0) {
      this.protocolError(`unknown version ${header.version}`);
      return;
    }
    switch (header.type) {
      case FrameType.Data:
      case FrameType.WindowUpdate:
        this.handleStreamFrame(header.type, header.flags, header.streamId, header.length, payload);
        return;
      case FrameType.Ping:
        // Answer the peer's keep-alive with its own value; our own pings are never sent.
        if ((header.flags & Flag.SYN) !== 0) {
          this.conn.write(encodeHeader(FrameType.Ping, Flag.ACK, 0, header.length));
        }
        return;
      case FrameType.GoAway:
        if (header.length === GoAway.Normal) this.remoteGoAway = true;
        else this.terminate(new Error(`yamux peer went away with error code ${header.length}`));
        return;
      default:
        this.protocolError(`unknown frame type ${header.type}`);
    }
  }

  private handleStreamFrame(
    type: number,
    flags: number,
    id: number,
    length: number,
    payload: Buffer,
  ): void {
    let stream = this.streams.get(id);
    if ((flags & Flag.SYN) !== 0) {
      if (stream !== undefined) {
        this.protocolError(`duplicate stream ${id}`);
        return;
      }
      stream = this.accept(id);
      if (stream === undefined) return;
    }
    // Frames for a stream we already forgot (we reset it, or both sides closed) are dropped.
    if (stream === undefined) return;
    if (type === FrameType.WindowUpdate) stream.receiveWindowUpdate(flags, length);
    else if (!stream.receiveData(flags, payload))
      this.protocolError(`stream ${id} overran its receive window`);
  }

  private accept(id: number): YamuxStream | undefined {
    if (this.options.onStream === undefined) {
      this.conn.write(encodeHeader(FrameType.WindowUpdate, Flag.RST, id, 0));
      return undefined;
    }
    const stream = new YamuxStream(this, id, true);
    this.streams.set(id, stream);
    // hashicorp/yamux acknowledges when the stream is accepted; a Go opener gives up on a stream
    // left unacknowledged (StreamOpenTimeout), so answer at once.
    stream.announce();
    this.options.onStream(stream);
    return stream;
  }
}
