// encodeMessage and encodeInit must write exactly the bytes protobuf-es's toBinary writes, for every message the
// plugin and its hosts exchange and for the well-known and descriptor types (proto2 presence,
// required fields, maps, oneofs, packed and unpacked lists, groups of nesting), with random and
// edge-case values.
import {
  create,
  createFileRegistry,
  type DescField,
  type DescMessage,
  fromBinary,
  ScalarType,
  toBinary,
} from "@bufbuild/protobuf";
import type { GenFile } from "@bufbuild/protobuf/codegenv2";
import {
  FieldDescriptorProto_Label as Label,
  FieldDescriptorProto_Type as Type,
  file_google_protobuf_any,
  file_google_protobuf_api,
  file_google_protobuf_descriptor,
  file_google_protobuf_duration,
  file_google_protobuf_empty,
  file_google_protobuf_field_mask,
  file_google_protobuf_struct,
  file_google_protobuf_timestamp,
  file_google_protobuf_type,
  file_google_protobuf_wrappers,
  FileDescriptorProtoSchema,
} from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";

import { file_grpc_health_v1_health } from "../../../../src/gen/grpc/health/v1/health_pb.js";
import {
  file_plexum_provider_v1_provider,
  RunTurnResponseSchema,
  TurnEventSchema,
} from "../../../../src/gen/plexum/provider/v1/provider_pb.js";
import { file_plugin_grpc_broker } from "../../../../src/gen/plugin/grpc_broker_pb.js";
import { file_plugin_grpc_controller } from "../../../../src/gen/plugin/grpc_controller_pb.js";
import { file_plugin_grpc_stdio } from "../../../../src/gen/plugin/grpc_stdio_pb.js";
import { encodeInit, encodeInitDirect, encodeMessage } from "../../../../src/plugin/fast-binary.js";

const files: GenFile[] = [
  file_plexum_provider_v1_provider,
  file_grpc_health_v1_health,
  file_plugin_grpc_broker,
  file_plugin_grpc_controller,
  file_plugin_grpc_stdio,
  file_google_protobuf_any,
  file_google_protobuf_api,
  file_google_protobuf_descriptor,
  file_google_protobuf_duration,
  file_google_protobuf_empty,
  file_google_protobuf_field_mask,
  file_google_protobuf_struct,
  file_google_protobuf_timestamp,
  file_google_protobuf_type,
  file_google_protobuf_wrappers,
];

// Every scalar type, singular, optional, repeated (packed and not), in maps and a oneof, in a
// proto3 file; groups (delimited encoding) and required fields in a proto2 one. None of the real
// schemas above has sint32, sfixed64 or a group, say.
const SCALARS: [string, Type][] = [
  ["double", Type.DOUBLE],
  ["float", Type.FLOAT],
  ["int64", Type.INT64],
  ["uint64", Type.UINT64],
  ["int32", Type.INT32],
  ["fixed64", Type.FIXED64],
  ["fixed32", Type.FIXED32],
  ["bool", Type.BOOL],
  ["string", Type.STRING],
  ["bytes", Type.BYTES],
  ["uint32", Type.UINT32],
  ["sfixed32", Type.SFIXED32],
  ["sfixed64", Type.SFIXED64],
  ["sint32", Type.SINT32],
  ["sint64", Type.SINT64],
];

function testFiles() {
  const fields = SCALARS.flatMap(([name, type], index) => [
    { name: `s_${name}`, number: index * 10 + 1, label: Label.OPTIONAL, type },
    {
      name: `o_${name}`,
      number: index * 10 + 2,
      label: Label.OPTIONAL,
      type,
      proto3Optional: true,
      oneofIndex: index + 1,
    },
    { name: `r_${name}`, number: index * 10 + 3, label: Label.REPEATED, type },
    {
      name: `u_${name}`,
      number: index * 10 + 4,
      label: Label.REPEATED,
      type,
      options: { packed: false },
    },
    { name: `c_${name}`, number: index * 10 + 5, label: Label.OPTIONAL, type, oneofIndex: 0 },
  ]);
  const mapKeys: [string, Type][] = [
    ["string", Type.STRING],
    ["int32", Type.INT32],
    ["int64", Type.INT64],
    ["uint32", Type.UINT32],
    ["bool", Type.BOOL],
    ["sint64", Type.SINT64],
    ["fixed32", Type.FIXED32],
  ];
  const entries = mapKeys.map(([name, type]) => ({
    name: `M${name}Entry`,
    options: { mapEntry: true },
    field: [
      { name: "key", number: 1, label: Label.OPTIONAL, type },
      { name: "value", number: 2, label: Label.OPTIONAL, type: Type.MESSAGE, typeName: ".t3.All" },
    ],
  }));
  const proto3 = createFileRegistry(
    create(FileDescriptorProtoSchema, {
      name: "t3.proto",
      package: "t3",
      syntax: "proto3",
      messageType: [
        {
          name: "All",
          field: [
            ...fields,
            {
              name: "child",
              number: 900,
              label: Label.OPTIONAL,
              type: Type.MESSAGE,
              typeName: ".t3.All",
            },
            {
              name: "kids",
              number: 901,
              label: Label.REPEATED,
              type: Type.MESSAGE,
              typeName: ".t3.All",
            },
            {
              name: "color",
              number: 902,
              label: Label.OPTIONAL,
              type: Type.ENUM,
              typeName: ".t3.Color",
            },
            {
              name: "colors",
              number: 903,
              label: Label.REPEATED,
              type: Type.ENUM,
              typeName: ".t3.Color",
            },
            ...mapKeys.map(([name], index) => ({
              name: `m_${name}`,
              number: 910 + index,
              label: Label.REPEATED,
              type: Type.MESSAGE,
              typeName: `.t3.All.M${name}Entry`,
            })),
          ],
          nestedType: entries,
          oneofDecl: [{ name: "choice" }, ...SCALARS.map(([name]) => ({ name: `_o_${name}` }))],
        },
      ],
      enumType: [
        {
          name: "Color",
          value: [
            { name: "RED", number: 0 },
            { name: "BLUE", number: 1 },
          ],
        },
      ],
    }),
    () => undefined,
  );
  const proto2 = createFileRegistry(
    create(FileDescriptorProtoSchema, {
      name: "t2.proto",
      package: "t2",
      syntax: "proto2",
      messageType: [
        {
          name: "Old",
          field: [
            { name: "need", number: 1, label: Label.REQUIRED, type: Type.SINT32 },
            { name: "maybe", number: 2, label: Label.OPTIONAL, type: Type.STRING },
            {
              name: "packed",
              number: 3,
              label: Label.REPEATED,
              type: Type.INT32,
              options: { packed: true },
            },
            { name: "plain", number: 4, label: Label.REPEATED, type: Type.SFIXED64 },
            {
              name: "g",
              number: 5,
              label: Label.OPTIONAL,
              type: Type.GROUP,
              typeName: ".t2.Old.G",
            },
            {
              name: "gs",
              number: 6,
              label: Label.REPEATED,
              type: Type.GROUP,
              typeName: ".t2.Old.Gs",
            },
          ],
          nestedType: [
            {
              name: "G",
              field: [{ name: "x", number: 7, label: Label.OPTIONAL, type: Type.UINT64 }],
            },
            {
              name: "Gs",
              field: [{ name: "y", number: 8, label: Label.REQUIRED, type: Type.STRING }],
            },
          ],
        },
      ],
    }),
    () => undefined,
  );
  const get = (registry: typeof proto3, name: string) => {
    const message = registry.getMessage(name);
    if (message === undefined) throw new Error(`${name} missing`);
    return message;
  };
  return [get(proto3, "t3.All"), get(proto2, "t2.Old"), get(proto2, "t2.Old.G")];
}

function allMessages(): DescMessage[] {
  const out: DescMessage[] = [];
  const visit = (message: DescMessage) => {
    out.push(message);
    message.nestedMessages.forEach(visit);
  };
  for (const file of files) file.messages.forEach(visit);
  return [...out, ...testFiles()];
}

// A small deterministic PRNG, so a failure reproduces.
function rng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

type Random = () => number;
const pick = <T>(random: Random, values: readonly T[]): T =>
  values[Math.floor(random() * values.length)] as T;

const STRINGS = [
  "",
  "a",
  "héllo wörld",
  "𝄞 music",
  "\uD800 lone",
  "tab\tnew\nline",
  "x".repeat(200),
];

function scalar(random: Random, type: ScalarType): unknown {
  switch (type) {
    case ScalarType.STRING:
      return random() < 0.1 ? "y".repeat(Math.floor(random() * 20_000)) : pick(random, STRINGS);
    case ScalarType.BYTES:
      return Uint8Array.from({ length: Math.floor(random() * 300) }, () =>
        Math.floor(random() * 256),
      );
    case ScalarType.BOOL:
      return random() < 0.5;
    case ScalarType.INT32:
    case ScalarType.SINT32:
    case ScalarType.SFIXED32:
      return pick(random, [0, 1, -1, 127, 128, -129, 2_147_483_647, -2_147_483_648, 300_000]);
    case ScalarType.UINT32:
    case ScalarType.FIXED32:
      return pick(random, [0, 1, 127, 128, 16_383, 16_384, 4_294_967_295, 2_097_152]);
    case ScalarType.INT64:
    case ScalarType.SINT64:
    case ScalarType.SFIXED64:
      return pick(random, [0n, 1n, -1n, 2n ** 63n - 1n, -(2n ** 63n), 2n ** 53n + 1n, -300n]);
    case ScalarType.UINT64:
    case ScalarType.FIXED64:
      return pick(random, [0n, 1n, 2n ** 64n - 1n, 2n ** 53n, 2n ** 35n, 128n]);
    case ScalarType.FLOAT:
      return pick(random, [0, -0, 1.5, Number.NaN, Infinity, -Infinity, 3.4e38, 1e-45]);
    case ScalarType.DOUBLE:
      return pick(random, [0, -0, Math.PI, Number.NaN, -Infinity, 1e308, -2.5e-300]);
  }
}

function value(random: Random, field: DescField, depth: number): unknown {
  const enumValue = (values: readonly { number: number }[]) =>
    random() < 0.1 ? 99 : (pick(random, values).number ?? 0);
  switch (field.fieldKind) {
    case "scalar":
      return scalar(random, field.scalar);
    case "enum":
      return enumValue(field.enum.values);
    case "message":
      return init(random, field.message, depth + 1);
    case "list": {
      const length = Math.floor(random() * 4);
      return Array.from({ length }, () =>
        field.listKind === "message"
          ? init(random, field.message, depth + 1)
          : field.listKind === "enum"
            ? enumValue(field.enum.values)
            : scalar(random, field.scalar),
      );
    }
    case "map": {
      const entries: Record<string, unknown> = {};
      for (let i = Math.floor(random() * 3); i > 0; i -= 1) {
        const key = scalar(random, field.mapKey);
        entries[String(key)] =
          field.mapKind === "message"
            ? init(random, field.message, depth + 1)
            : field.mapKind === "enum"
              ? enumValue(field.enum.values)
              : scalar(random, field.scalar);
      }
      return entries;
    }
  }
}

function init(random: Random, schema: DescMessage, depth = 0): Record<string, unknown> {
  const result: Record<string, unknown> = {};
  if (depth > 3) return result;
  for (const field of schema.fields) {
    if (field.oneof !== undefined) continue;
    const required = field.presence === 3;
    if (!required && random() < 0.35) continue;
    result[field.localName] = value(random, field, depth);
  }
  for (const oneof of schema.oneofs) {
    if (random() < 0.3) continue;
    const field = pick(random, oneof.fields);
    result[oneof.localName] = { case: field.localName, value: value(random, field, depth) };
  }
  return result;
}

function expectSameBytes(schema: DescMessage, initValue: Record<string, unknown>): void {
  const message = create(schema, initValue as never);
  let expected: Uint8Array | undefined;
  let expectedError: unknown;
  try {
    expected = toBinary(schema, message);
  } catch (error) {
    expectedError = error;
  }
  if (expected === undefined) {
    expect(() => encodeMessage(schema, message)).toThrow((expectedError as Error).message);
    expect(() => encodeInit(schema, initValue as never)).toThrow((expectedError as Error).message);
    return;
  }
  const actual = encodeMessage(schema, message);
  expect(Buffer.from(actual).equals(Buffer.from(expected)), schema.typeName).toBe(true);
  // The same bytes straight from the init object.
  const fromInit = encodeInit(schema, initValue as never);
  expect(Buffer.from(fromInit).equals(Buffer.from(expected)), `${schema.typeName} init`).toBe(true);
  const direct = encodeInitDirect(schema, initValue as never);
  if (direct !== undefined) {
    directCount += 1;
    expect(Buffer.from(direct).equals(Buffer.from(expected)), `${schema.typeName} direct`).toBe(
      true,
    );
  }
}

// How many init objects encodeInit wrote without create(); see the test below.
let directCount = 0;

describe("encodeMessage", () => {
  it("writes what toBinary writes for every message type, with random values", () => {
    const random = rng(20_261_122);
    directCount = 0;
    let total = 0;
    for (const schema of allMessages()) {
      for (let i = 0; i < 25; i += 1) {
        expectSameBytes(schema, init(random, schema));
        total += 1;
      }
    }
    // Most take the direct path (the rest hold wrappers, Structs, missing required fields…).
    expect(directCount / total).toBeGreaterThan(0.8);
  });

  it("writes the plugin's own event messages without create()", () => {
    const response = {
      events: [
        {
          seq: 1n,
          time: { seconds: 1_790_000_000n, nanos: 5 },
          event: { case: "text", value: { itemId: "item_0", text: "héllo", final: true } },
        },
        {
          seq: 2n,
          event: {
            case: "tool",
            value: {
              itemId: "item_1",
              status: "completed",
              tool: { case: "command", value: { command: "ls", aggregatedOutput: "a\n" } },
            },
          },
        },
      ],
    };
    const direct = encodeInitDirect(RunTurnResponseSchema, response as never);
    expect(direct).toBeDefined();
    const expected = toBinary(
      RunTurnResponseSchema,
      create(RunTurnResponseSchema, response as never),
    );
    expect(Buffer.from(direct as Buffer).equals(Buffer.from(expected))).toBe(true);
  });

  it("writes empty messages and zero values as toBinary does", () => {
    for (const schema of allMessages()) expectSameBytes(schema, {});
  });

  it("moves nested values correctly when a length needs 2, 3 or 4 bytes", () => {
    for (const length of [0, 127, 128, 16_383, 16_384, 2_097_151, 2_097_152]) {
      const output = "z".repeat(length);
      expectSameBytes(RunTurnResponseSchema, {
        event: {
          seq: 7n,
          event: {
            case: "tool",
            value: {
              itemId: "item_1",
              status: "completed",
              tool: { case: "command", value: { command: "ls", aggregatedOutput: output } },
            },
          },
        },
      });
    }
  });

  it("keeps unknown fields, like toBinary", () => {
    const known = toBinary(TurnEventSchema, create(TurnEventSchema, { seq: 5n }));
    // Field 999, varint 150; field 998, length-delimited "hi".
    const unknown = Uint8Array.from([0xb8, 0x3e, 0x96, 0x01, 0xb2, 0x3e, 0x02, 0x68, 0x69]);
    const parsed = fromBinary(TurnEventSchema, Uint8Array.from([...known, ...unknown]));
    expect(Buffer.from(encodeMessage(TurnEventSchema, parsed))).toEqual(
      Buffer.from(toBinary(TurnEventSchema, parsed)),
    );
  });

  it("leaves invalid values to toBinary, which throws its own error", () => {
    const schema = file_google_protobuf_type.messages.find((m) => m.name === "Field");
    if (schema === undefined) throw new Error("google.protobuf.Field not found");
    expectSameBytes(schema, { number: 2 ** 40 });
    expectSameBytes(schema, { number: 1.5 });
  });
});
