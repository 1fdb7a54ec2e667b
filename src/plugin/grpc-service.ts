import type {
  DescMessage,
  DescMethod,
  DescService,
  MessageInitShape,
  MessageShape,
} from "@bufbuild/protobuf";
import { fromBinary } from "@bufbuild/protobuf";
import type * as grpc from "@grpc/grpc-js";

import { encodeInit } from "./fast-binary.js";

/** The descriptor fields that decide a method's handler type. */
type MethodShape = Pick<DescMethod, "input" | "output" | "methodKind">;

/**
 * The grpc-js server handler for one protobuf-es method. Requests arrive as full messages; responses
 * may be written as init objects (`{ status: 1 }`), which are completed with `create()`.
 */
export type MethodImplementation<M extends MethodShape> = M["methodKind"] extends "unary"
  ? grpc.handleUnaryCall<MessageShape<M["input"]>, MessageInitShape<M["output"]>>
  : M["methodKind"] extends "server_streaming"
    ? grpc.handleServerStreamingCall<MessageShape<M["input"]>, MessageInitShape<M["output"]>>
    : M["methodKind"] extends "client_streaming"
      ? grpc.handleClientStreamingCall<MessageShape<M["input"]>, MessageInitShape<M["output"]>>
      : grpc.handleBidiStreamingCall<MessageShape<M["input"]>, MessageInitShape<M["output"]>>;

/**
 * A typed grpc-js implementation of a generated service: one handler per method, keyed by the
 * method's local (camelCase) name, e.g. `{ check(call, callback) {…}, watch(call) {…} }`.
 */
export type ServiceImplementation<S extends DescService> = {
  [K in keyof S["method"]]: S["method"][K] extends MethodShape
    ? MethodImplementation<S["method"][K]>
    : never;
};

/** A service paired with its implementation, ready for `servePlugin({ services: [...] })`. */
export interface ServiceRegistration {
  /** The generated service descriptor. */
  readonly service: DescService;
  /** Handlers keyed by method local name. */
  readonly implementation: grpc.UntypedServiceImplementation;
}

/** Pairs a generated service with a type-checked implementation. */
export function implementService<S extends DescService>(
  service: S,
  implementation: ServiceImplementation<S>,
): ServiceRegistration {
  return { service, implementation: implementation as grpc.UntypedServiceImplementation };
}

/**
 * Serializes a message or init object of the given schema: toBinary's bytes, written by the
 * single-buffer encoder in fast-binary.ts (a large share of the plugin's CPU on the event stream).
 */
export function serializeMessage<Desc extends DescMessage>(
  schema: Desc,
  value: MessageInitShape<Desc>,
): Buffer {
  return encodeInit(schema, value);
}

/** Parses a message of the given schema from wire bytes. */
export function deserializeMessage<Desc extends DescMessage>(
  schema: Desc,
  bytes: Uint8Array,
): MessageShape<Desc> {
  return fromBinary(schema, bytes);
}

/**
 * Adapts a protobuf-es service descriptor to a grpc-js service definition. Paths are the wire names
 * (`/grpc.health.v1.Health/Check`); keys are the methods' local names, matching
 * {@link ServiceImplementation}.
 */
export function createServiceDefinition(service: DescService): grpc.ServiceDefinition {
  const definition: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  for (const method of service.methods) {
    const { input, output, methodKind } = method;
    definition[method.localName] = {
      path: `/${service.typeName}/${method.name}`,
      requestStream: methodKind === "client_streaming" || methodKind === "bidi_streaming",
      responseStream: methodKind === "server_streaming" || methodKind === "bidi_streaming",
      requestSerialize: (value) => serializeMessage(input, value as MessageInitShape<DescMessage>),
      requestDeserialize: (bytes) => deserializeMessage(input, bytes),
      responseSerialize: (value) =>
        serializeMessage(output, value as MessageInitShape<DescMessage>),
      responseDeserialize: (bytes) => deserializeMessage(output, bytes),
      originalName: method.name,
    };
  }
  return definition;
}
