import type { DescMethod, DescService, MessageInitShape, MessageShape } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";

import { PluginError } from "../errors.js";
import { deserializeMessage, serializeMessage } from "./grpc-service.js";

/** Per-call options for {@link createServiceClient} methods. */
export interface ClientCallOptions {
  /** Absolute deadline, as a Date or epoch milliseconds. */
  deadline?: Date | number;
  /** Cancels the call (status CANCELLED) when aborted. */
  signal?: AbortSignal;
  /** Request metadata (headers). */
  metadata?: grpc.Metadata;
}

/** A client-streaming call: write requests to `stream`, end it, then await `response`. */
export interface ClientStreamingCall<I, O> {
  /** The request stream. */
  stream: grpc.ClientWritableStream<I>;
  /** Settles once the server has answered. */
  response: Promise<O>;
}

type MethodShape = Pick<DescMethod, "input" | "output" | "methodKind">;

/** The client-side function for one protobuf-es method. */
export type ClientMethod<M extends MethodShape> = M["methodKind"] extends "unary"
  ? (
      request: MessageInitShape<M["input"]>,
      options?: ClientCallOptions,
    ) => Promise<MessageShape<M["output"]>>
  : M["methodKind"] extends "server_streaming"
    ? (
        request: MessageInitShape<M["input"]>,
        options?: ClientCallOptions,
      ) => grpc.ClientReadableStream<MessageShape<M["output"]>>
    : M["methodKind"] extends "client_streaming"
      ? (
          options?: ClientCallOptions,
        ) => ClientStreamingCall<MessageInitShape<M["input"]>, MessageShape<M["output"]>>
      : (
          options?: ClientCallOptions,
        ) => grpc.ClientDuplexStream<MessageInitShape<M["input"]>, MessageShape<M["output"]>>;

/**
 * A typed client for a generated service: one function per method, keyed by local name, plus
 * connection management. Requests may be messages or init objects.
 */
export type ServiceClient<S extends DescService> = {
  [K in keyof S["method"]]: S["method"][K] extends MethodShape
    ? ClientMethod<S["method"][K]>
    : never;
} & {
  /** Resolves once the channel is connected, or rejects at the deadline. */
  waitForReady(deadline: Date | number): Promise<void>;
  /** Closes the channel; calls in flight are cancelled. */
  close(): void;
  /** The underlying grpc-js client, for anything not covered here. */
  readonly grpcClient: grpc.Client;
};

// go-plugin hosts and servers allow math.MaxInt32 both ways; grpc-js clients default to 4 MiB in.
const unlimitedMessages: grpc.ChannelOptions = {
  "grpc.max_receive_message_length": -1,
  "grpc.max_send_message_length": -1,
};

const reservedNames = new Set(["waitForReady", "close", "grpcClient"]);

function toCallOptions(options: ClientCallOptions | undefined): grpc.CallOptions {
  return options?.deadline === undefined ? {} : { deadline: options.deadline };
}

// Cancels the call when the signal aborts; returns the cleanup to run when the call ends.
function linkSignal(call: grpc.Call, signal: AbortSignal | undefined): () => void {
  if (signal === undefined) return () => {};
  if (signal.aborted) {
    call.cancel();
    return () => {};
  }
  const onAbort = (): void => call.cancel();
  signal.addEventListener("abort", onAbort, { once: true });
  return () => signal.removeEventListener("abort", onAbort);
}

function linkStreamSignal<T extends grpc.Call>(call: T, signal: AbortSignal | undefined): T {
  // Every call emits `status` exactly once when it ends, however it ends.
  (call as NodeJS.EventEmitter).once("status", linkSignal(call, signal));
  return call;
}

/**
 * Creates a typed grpc-js client for a generated service.
 *
 * @param address `unix:/abs/path` or `host:port` (e.g. `127.0.0.1:10000`), as returned by
 *   `launchPlugin()`.
 * @param options Channel options; message size limits default to unlimited, as in go-plugin.
 */
export function createServiceClient<S extends DescService>(
  service: S,
  address: string,
  credentials: grpc.ChannelCredentials,
  options: grpc.ChannelOptions = {},
): ServiceClient<S> {
  const client = new grpc.Client(address, credentials, { ...unlimitedMessages, ...options });
  const methods: Record<string, unknown> = {};
  for (const method of service.methods) {
    if (reservedNames.has(method.localName)) {
      throw new PluginError(
        "INTERNAL",
        `method ${service.typeName}.${method.name} clashes with ServiceClient.${method.localName}`,
      );
    }
    const path = `/${service.typeName}/${method.name}`;
    const serialize = (value: MessageInitShape<typeof method.input>): Buffer =>
      serializeMessage(method.input, value);
    const deserialize = (bytes: Buffer): MessageShape<typeof method.output> =>
      deserializeMessage(method.output, bytes);
    const metadataOf = (options?: ClientCallOptions): grpc.Metadata =>
      options?.metadata ?? new grpc.Metadata();

    switch (method.methodKind) {
      case "unary":
        methods[method.localName] = (request: unknown, callOptions?: ClientCallOptions) =>
          new Promise((resolve, reject) => {
            let unlink = (): void => {};
            const call = client.makeUnaryRequest(
              path,
              serialize,
              deserialize,
              request as MessageInitShape<typeof method.input>,
              metadataOf(callOptions),
              toCallOptions(callOptions),
              (error, response) => {
                unlink();
                if (error) reject(error);
                else resolve(response);
              },
            );
            unlink = linkSignal(call, callOptions?.signal);
          });
        break;
      case "server_streaming":
        methods[method.localName] = (request: unknown, callOptions?: ClientCallOptions) =>
          linkStreamSignal(
            client.makeServerStreamRequest(
              path,
              serialize,
              deserialize,
              request as MessageInitShape<typeof method.input>,
              metadataOf(callOptions),
              toCallOptions(callOptions),
            ),
            callOptions?.signal,
          );
        break;
      case "client_streaming":
        methods[method.localName] = (callOptions?: ClientCallOptions) => {
          let settle: grpc.requestCallback<unknown> = () => {};
          const response = new Promise((resolve, reject) => {
            settle = (error, value) => (error ? reject(error) : resolve(value));
          });
          const stream = linkStreamSignal(
            client.makeClientStreamRequest(
              path,
              serialize,
              deserialize,
              metadataOf(callOptions),
              toCallOptions(callOptions),
              (error, value) => settle(error, value),
            ),
            callOptions?.signal,
          );
          return { stream, response };
        };
        break;
      case "bidi_streaming":
        methods[method.localName] = (callOptions?: ClientCallOptions) =>
          linkStreamSignal(
            client.makeBidiStreamRequest(
              path,
              serialize,
              deserialize,
              metadataOf(callOptions),
              toCallOptions(callOptions),
            ),
            callOptions?.signal,
          );
        break;
    }
  }
  methods["waitForReady"] = (deadline: Date | number) =>
    new Promise<void>((resolve, reject) =>
      client.waitForReady(deadline, (error) => (error ? reject(error) : resolve())),
    );
  methods["close"] = () => client.close();
  methods["grpcClient"] = client;
  return methods as ServiceClient<S>;
}
