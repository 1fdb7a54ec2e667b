// The bounds of RunTurn's start message, Consume's ids and CancelTurn's reason, at the wire seam:
// just under a bound converts, just over is an AppError (INVALID_ARGUMENT) naming the field, and a
// field megabytes over its bound is refused the same way with a short message.
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";

import {
  MAX_BLOCK_IDS,
  MAX_ENTRIES,
  MAX_LISTED_PROBLEMS,
  MAX_NAME_CHARS,
  MAX_OUTPUT_SCHEMA_BYTES,
  MAX_OVERRIDE_BYTES,
  MAX_PATH_BYTES,
  MAX_PROMPT_IMAGES,
  MAX_REASON_CHARS,
  MAX_TEXT_CHARS,
  MAX_TOOL_DESCRIPTION_CHARS,
  MAX_TOOL_SCHEMA_BYTES,
  MAX_TURN_OVERRIDES_BYTES,
} from "../../../../internal/config/limits.js";
import { isAppError } from "../../../../internal/core/app-error.js";
import {
  blockIdsFromProto,
  cancelReasonFromProto,
  configFromProto,
  turnRequestFromProto,
} from "../../../../internal/provider/from-proto.js";
import {
  MAX_STATUS_DETAILS_BYTES,
  serviceError,
} from "../../../../internal/provider/grpc-status.js";
import {
  Message_Role,
  type StartTurn,
  StartTurnSchema,
} from "../../../../src/gen/plexum/provider/v1/provider_pb.js";

// The plain init object, not an already built message.
type Start = Exclude<MessageInitShape<typeof StartTurnSchema>, StartTurn>;
type Options = NonNullable<Start["options"]>;

const PNG = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

function start(options: Options = {}): Start {
  return {
    agent: { agentId: "a", workspace: "/w" },
    conversation: [{ role: Message_Role.USER, text: "hi" }],
    options,
  };
}

function refusal(run: () => unknown): { code: string; fields: readonly string[]; message: string } {
  try {
    run();
  } catch (error) {
    if (!isAppError(error)) throw error;
    return { code: error.code, fields: error.fields, message: error.message };
  }
  throw new Error("expected a refusal");
}

const turn = (init: Start) => () => turnRequestFromProto(create(StartTurnSchema, init));
const mapOf = (count: number, value = "v") =>
  Object.fromEntries(Array.from({ length: count }, (_, i) => [`k${i}`, value]));
const pathOf = (bytes: number) => {
  let path = "";
  while (path.length < bytes) path += `/${"d".repeat(Math.min(200, bytes - path.length - 1))}`;
  return path;
};

describe("RunTurn start message bounds", () => {
  it.each<[string, (n: number) => Options, number]>([
    ["options.config_overrides", (n) => ({ configOverrides: mapOf(n, "1") }), MAX_ENTRIES],
    ["options.model_settings", (n) => ({ modelSettings: mapOf(n) }), MAX_ENTRIES],
    [
      "options.writable_dirs",
      (n) => ({ writableDirs: Array.from({ length: n }, (_, i) => `/d${i}`) }),
      MAX_ENTRIES,
    ],
    [
      "options.endpoint.http_headers",
      (n) => ({ endpoint: { httpHeaders: mapOf(n) } }),
      MAX_ENTRIES,
    ],
    [
      "options.endpoint.query_params",
      (n) => ({ endpoint: { queryParams: mapOf(n) } }),
      MAX_ENTRIES,
    ],
  ])("accepts %s with its bound of entries and refuses one more", (field, options, max) => {
    expect(turn(start(options(max)))).not.toThrow();
    const error = refusal(turn(start(options(max + 1))));
    expect(error).toMatchObject({ code: "REQUEST_INVALID", fields: [field] });
    expect(error.message).toContain(`${field}: has ${max + 1} entries; at most ${max}`);
  });

  it.each<[string, (s: string) => Start, number]>([
    ["model", (s) => ({ ...start(), model: s }), MAX_NAME_CHARS],
    ["options.sandbox", (s) => start({ sandbox: s }), MAX_NAME_CHARS],
    ["options.reasoning_effort", (s) => start({ reasoningEffort: s }), MAX_NAME_CHARS],
    [
      "options.worktree.base_ref",
      (s) => start({ worktree: { enabled: true, baseRef: s } }),
      MAX_TEXT_CHARS,
    ],
    ["options.endpoint.base_url", (s) => start({ endpoint: { baseUrl: s } }), MAX_TEXT_CHARS],
    ["options.endpoint.api_key", (s) => start({ endpoint: { apiKey: s } }), MAX_TEXT_CHARS],
    ["options.endpoint.wire_api", (s) => start({ endpoint: { wireApi: s } }), MAX_NAME_CHARS],
    ["options.endpoint.model", (s) => start({ endpoint: { model: s } }), MAX_NAME_CHARS],
    [
      "options.endpoint.http_headers.h",
      (s) => start({ endpoint: { httpHeaders: { h: s } } }),
      MAX_TEXT_CHARS,
    ],
    [
      "options.model_settings.verbosity",
      (s) => start({ modelSettings: { verbosity: s } }),
      MAX_NAME_CHARS,
    ],
  ])("accepts %s at its length bound and refuses one character more", (field, set, max) => {
    expect(turn(set("x".repeat(max)))).not.toThrow();
    const error = refusal(turn(set("x".repeat(max + 1))));
    expect(error).toMatchObject({ code: "REQUEST_INVALID", fields: [field] });
    expect(error.message).toContain(`is ${max + 1} characters; at most ${max} are accepted`);
  });

  it("bounds each config override and all of them together, in bytes", () => {
    // key "k" + "=" + value.
    const fits = { k: "v".repeat(MAX_OVERRIDE_BYTES - 2) };
    expect(turn(start({ configOverrides: fits }))).not.toThrow();
    const one = refusal(turn(start({ configOverrides: { k: `${fits.k}v` } })));
    expect(one.fields).toEqual(["options.config_overrides.k"]);
    expect(one.message).toContain("is 65537 bytes as key=value; at most 65536");

    // Five entries of 64 KiB - 1 each: each fits, together they do not.
    const value = "v".repeat(MAX_OVERRIDE_BYTES - 3);
    const five = Object.fromEntries(["a1", "a2", "a3", "a4", "a5"].map((k) => [k, value]));
    expect(5 * MAX_OVERRIDE_BYTES).toBeGreaterThan(MAX_TURN_OVERRIDES_BYTES);
    const all = refusal(turn(start({ configOverrides: five })));
    expect(all.fields).toEqual(["options.config_overrides"]);
    expect(all.message).toContain(`at most ${MAX_TURN_OVERRIDES_BYTES} are accepted`);
  });

  it("refuses an output schema over its size or nesting before parsing it", () => {
    const padded = (bytes: number) => `{"type":"object"}`.padEnd(bytes, " ");
    expect(turn(start({ outputSchemaJson: padded(MAX_OUTPUT_SCHEMA_BYTES) }))).not.toThrow();
    const big = refusal(turn(start({ outputSchemaJson: padded(MAX_OUTPUT_SCHEMA_BYTES + 1) })));
    expect(big.fields).toEqual(["options.output_schema_json"]);
    const deep = `{"type":"object","properties":{"a":${'{"items":'.repeat(1000)}{}${"}".repeat(1000)}}}`;
    const nested = refusal(turn(start({ outputSchemaJson: deep })));
    expect(nested.fields).toEqual(["options.output_schema_json"]);
    expect(nested.message).toContain("nests deeper than 64 levels");
  });

  it("refuses writable dirs, a workspace and image paths that cannot exist", () => {
    expect(turn(start({ writableDirs: [pathOf(MAX_PATH_BYTES)] }))).not.toThrow();
    const dirs = refusal(turn(start({ writableDirs: ["/ok", pathOf(MAX_PATH_BYTES + 1)] })));
    expect(dirs.fields).toEqual(["options.writable_dirs.1"]);
    expect(dirs.message).toContain("PATH_MAX");

    const workspace = `/${"w/".repeat(2_000_000)}`;
    const ws = refusal(turn({ ...start(), agent: { agentId: "a", workspace } }));
    expect(ws).toMatchObject({ code: "WORKSPACE_INVALID", fields: ["agent.workspace"] });
    expect(ws.message.length).toBeLessThan(300);
    const component = refusal(
      turn({ ...start(), agent: { agentId: "a", workspace: `/srv/${"c".repeat(256)}` } }),
    );
    expect(component.message).toContain("NAME_MAX");

    const image = refusal(
      turn({
        ...start(),
        conversation: [
          {
            role: Message_Role.USER,
            text: "look",
            images: [{ source: { case: "path", value: `pics/${"p".repeat(256)}.png` } }],
          },
        ],
      }),
    );
    expect(image).toMatchObject({ code: "IMAGE_INVALID", fields: ["conversation.images.0.path"] });
  });

  it("accepts MAX_PROMPT_IMAGES images on the prompt and refuses one more", () => {
    const withImages = (count: number): Start => ({
      ...start(),
      conversation: [
        {
          role: Message_Role.USER,
          text: "look",
          images: Array.from({ length: count }, () => ({
            source: { case: "data" as const, value: PNG },
          })),
        },
      ],
    });
    expect(turn(withImages(MAX_PROMPT_IMAGES))).not.toThrow();
    const error = refusal(turn(withImages(MAX_PROMPT_IMAGES + 1)));
    expect(error).toMatchObject({ code: "IMAGE_INVALID", fields: ["conversation.images"] });
  });

  it("bounds host tool descriptions and schemas, and refuses a huge tool list whole", () => {
    const tool = (description: string, inputSchemaJson: string) => ({
      name: "t",
      description,
      inputSchemaJson,
    });
    const schema = (bytes: number) => `{"type":"object"}`.padEnd(bytes, " ");
    expect(
      turn({
        ...start(),
        tools: [tool("d".repeat(MAX_TOOL_DESCRIPTION_CHARS), schema(MAX_TOOL_SCHEMA_BYTES))],
      }),
    ).not.toThrow();
    const error = refusal(
      turn({
        ...start(),
        tools: [
          tool("d".repeat(MAX_TOOL_DESCRIPTION_CHARS + 1), schema(MAX_TOOL_SCHEMA_BYTES + 1)),
        ],
      }),
    );
    expect(error).toMatchObject({
      code: "REQUEST_INVALID",
      fields: ["tools[0].description", "tools[0].input_schema_json"],
    });
    const deep = `{"type":"object","properties":${'{"a":'.repeat(100)}{}${"}".repeat(100)}}`;
    expect(refusal(turn({ ...start(), tools: [tool("", deep)] })).message).toContain(
      "nests deeper than 64 levels",
    );

    const many = Array.from({ length: 300_000 }, () => tool("", ""));
    const list = refusal(turn({ ...start(), tools: many }));
    expect(list.fields).toEqual(["tools"]);
    expect(list.message.length).toBeLessThan(200);
  });

  it("names at most MAX_LISTED_PROBLEMS of many fields over their bounds", () => {
    const long = "x".repeat(MAX_TEXT_CHARS + 1);
    const error = refusal(turn(start({ configOverrides: mapOf(MAX_ENTRIES, long.repeat(8)) })));
    expect(error.fields.length).toBeLessThanOrEqual(MAX_LISTED_PROBLEMS);
    expect(error.message).toMatch(/and \d+ more problems$/);
    expect(error.message.length).toBeLessThan(4000);
  });
});

describe("Consume, CancelTurn and Configure at the seam", () => {
  it("accepts MAX_BLOCK_IDS ids of MAX_NAME_CHARS and refuses more or longer ones", () => {
    const ids = (count: number, length = 10) =>
      Array.from({ length: count }, (_, i) => `call_${i}`.padEnd(length, "x"));
    expect(blockIdsFromProto(ids(MAX_BLOCK_IDS))).toHaveLength(MAX_BLOCK_IDS);
    expect(blockIdsFromProto(ids(2, MAX_NAME_CHARS))).toHaveLength(2);
    expect(refusal(() => blockIdsFromProto(ids(MAX_BLOCK_IDS + 1)))).toMatchObject({
      code: "REQUEST_INVALID",
      fields: ["block_ids"],
    });
    expect(refusal(() => blockIdsFromProto(ids(2, MAX_NAME_CHARS + 1)))).toMatchObject({
      fields: ["block_ids.0", "block_ids.1"],
    });
  });

  it("keeps a cancel reason to MAX_REASON_CHARS, never refusing the cancel", () => {
    const kept = "r".repeat(MAX_REASON_CHARS);
    expect(cancelReasonFromProto(kept, "cancelled", "x").message).toBe(kept);
    const cut = cancelReasonFromProto("r".repeat(4_000_000), "cancelled", "x").message;
    expect(cut).toBe(`${kept}…`);
  });

  it("refuses a config_json over 16 MiB undecoded, and passes a smaller one on as text", () => {
    expect(configFromProto(new TextEncoder().encode('{"binary":"/x"}'))).toBe('{"binary":"/x"}');
    const error = refusal(() => configFromProto(new Uint8Array(16 * 1024 * 1024 + 1)));
    expect(error).toMatchObject({ code: "CONFIG_INVALID", fields: ["config_json"] });
  });

  it("keeps every gRPC status message within MAX_STATUS_DETAILS_BYTES", () => {
    for (const text of ["x".repeat(1_000_000), "é".repeat(1_000_000), "🚀".repeat(100_000)]) {
      const details = serviceError(new Error(text)).details ?? "";
      expect(Buffer.byteLength(details)).toBeLessThanOrEqual(MAX_STATUS_DETAILS_BYTES);
      expect(details).toMatch(/^INTERNAL: .+…$/u);
      expect(details).not.toContain("\uFFFD");
    }
    expect(serviceError(new Error("short")).details).toBe("INTERNAL: short");
  });
});
