import { describe, expect, it } from "vitest";

import {
  checkStructuredOutput,
  compileOutputSchema,
  type OutputSchema,
} from "../../../../internal/turn/output-schema.js";

const SCHEMA = {
  type: "object",
  properties: { answer: { type: "string" }, score: { type: "integer", minimum: 0 } },
  required: ["answer", "score"],
  additionalProperties: false,
};

function compiled(schema: unknown): OutputSchema {
  const result = compileOutputSchema(JSON.stringify(schema));
  if (!result.ok) throw new Error(result.message);
  return result.schema;
}

describe("compileOutputSchema", () => {
  it("compiles draft-07 and 2020-12 schemas and keeps compact JSON for codex", () => {
    const result = compileOutputSchema(JSON.stringify(SCHEMA, null, 2));
    expect(result.ok).toBe(true);
    if (result.ok) expect(result.schema.json).toBe(JSON.stringify(SCHEMA));
    const draft2020 = compileOutputSchema(
      JSON.stringify({
        $schema: "https://json-schema.org/draft/2020-12/schema",
        type: "array",
        prefixItems: [{ type: "string" }],
      }),
    );
    expect(draft2020.ok).toBe(true);
  });

  it("refuses text that is not JSON, not an object, or not a schema", () => {
    expect(compileOutputSchema("{oops")).toMatchObject({
      ok: false,
      message: expect.stringContaining("not valid JSON"),
    });
    expect(compileOutputSchema("[1]")).toMatchObject({
      ok: false,
      message: "output schema must be a JSON object",
    });
    // Too deep for ajv and JSON.stringify, which recurse: refused before parsing.
    const deep = `{"type":"object","properties":{"a":${'{"items":'.repeat(1000)}{}${"}".repeat(1000)}}}`;
    expect(compileOutputSchema(deep)).toEqual({
      ok: false,
      message: "output schema nests deeper than 64 levels",
    });
    expect(compileOutputSchema(`{"type":"object"}`.padEnd(262_145, " "))).toMatchObject({
      ok: false,
      message: "output schema is 262145 bytes; at most 262144 are accepted",
    });
    expect(compileOutputSchema('{"type":"nonsense"}')).toMatchObject({
      ok: false,
      message: expect.stringContaining("not a valid JSON Schema"),
    });
  });
});

describe("checkStructuredOutput", () => {
  it("returns matching output as compact JSON", () => {
    expect(checkStructuredOutput(compiled(SCHEMA), '{ "answer": "x",\n "score": 3 }')).toEqual({
      ok: true,
      json: '{"answer":"x","score":3}',
    });
  });

  it("explains output that is empty, not JSON, or does not match", () => {
    const schema = compiled(SCHEMA);
    expect(checkStructuredOutput(schema, "  ")).toMatchObject({
      ok: false,
      message: expect.stringContaining("without a final message"),
    });
    expect(checkStructuredOutput(schema, "Sure! Here it is")).toMatchObject({
      ok: false,
      message: expect.stringContaining("not JSON"),
    });
    const wrong = checkStructuredOutput(schema, '{"answer": 1, "score": -1, "extra": true}');
    expect(wrong.ok).toBe(false);
    if (!wrong.ok) {
      expect(wrong.message).toContain("/answer must be string");
      expect(wrong.message).toContain("/score must be >= 0");
      expect(wrong.message).toContain("(root) must NOT have additional properties");
    }
  });
});
