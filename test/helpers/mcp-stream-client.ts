// An MCP client wired to a bridge through in-memory streams: the bridge under test gets a fake
// stdin/stdout (PassThrough) exactly as the SDK's own StdioServerTransport tests do.
import { PassThrough } from "node:stream";

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { ReadBuffer, serializeMessage } from "@modelcontextprotocol/sdk/shared/stdio.js";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";

/** The bridge's side: what it reads as stdin and writes as stdout. */
export interface BridgeStreams {
  stdin: PassThrough;
  stdout: PassThrough;
}

/** A client transport writing to the bridge's stdin and reading its stdout. */
class StreamClientTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;
  readonly #streams: BridgeStreams;
  readonly #buffer = new ReadBuffer();

  constructor(streams: BridgeStreams) {
    this.#streams = streams;
  }

  async start(): Promise<void> {
    this.#streams.stdout.on("data", (chunk: Buffer) => {
      this.#buffer.append(chunk);
      for (let message = this.#buffer.readMessage(); message !== null;) {
        this.onmessage?.(message);
        message = this.#buffer.readMessage();
      }
    });
  }

  async send(message: JSONRPCMessage): Promise<void> {
    this.#streams.stdin.write(serializeMessage(message));
  }

  async close(): Promise<void> {
    this.#streams.stdin.end();
    this.onclose?.();
  }
}

/** Fresh stdin/stdout streams for a bridge under test. */
export function createBridgeStreams(): BridgeStreams {
  return { stdin: new PassThrough(), stdout: new PassThrough() };
}

/** An MCP client connected to the bridge running on `streams`. */
export async function connectMcpClient(streams: BridgeStreams): Promise<Client> {
  const client = new Client({ name: "unit-test", version: "1.0.0" });
  await client.connect(new StreamClientTransport(streams));
  return client;
}
