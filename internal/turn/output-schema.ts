// Structured output: the turn's JSON Schema is checked before codex starts, handed to codex with
// --output-schema (which makes it the request's text.format, strict json_schema), and the final
// message is validated against it. Codex itself accepts whatever the model answers.
import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";
import { Ajv2020 } from "ajv/dist/2020.js";

import { jsonTextProblem, MAX_OUTPUT_SCHEMA_BYTES } from "../config/limits.js";

export interface OutputSchema {
  /** The schema as the host sent it, re-serialised; this is what codex reads. */
  json: string;
  validate: ValidateFunction;
}

export type SchemaCheck = { ok: true; schema: OutputSchema } | { ok: false; message: string };

export type OutputCheck = { ok: true; json: string } | { ok: false; message: string };

const DRAFT_2020 = /json-schema\.org\/draft\/2020-12\/schema/;

/**
 * Parses and compiles a schema. Draft 2020-12 when `$schema` says so, else draft-07. Formats are
 * not checked (the strict json_schema mode of the API enforces them where it supports them).
 */
export function compileOutputSchema(text: string): SchemaCheck {
  // ajv and JSON.stringify recurse: a schema nested past the bound would overflow the stack.
  const problem = jsonTextProblem(text, MAX_OUTPUT_SCHEMA_BYTES);
  if (problem !== undefined) return { ok: false, message: `output schema ${problem}` };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    return { ok: false, message: `output schema is not valid JSON: ${String(error)}` };
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    return { ok: false, message: "output schema must be a JSON object" };
  }
  const declared = (parsed as { $schema?: unknown }).$schema;
  const options = {
    strict: false,
    allErrors: true,
    validateFormats: false,
    logger: false,
  } as const;
  const ajv =
    typeof declared === "string" && DRAFT_2020.test(declared)
      ? new Ajv2020(options)
      : new Ajv(options);
  try {
    const validate = ajv.compile(parsed);
    return { ok: true, schema: { json: JSON.stringify(parsed), validate } };
  } catch (error) {
    return {
      ok: false,
      message: `output schema is not a valid JSON Schema: ${error instanceof Error ? error.message : String(error)}`,
    };
  }
}

/** Checks the final message: JSON, and valid against the schema. Returns it as compact JSON. */
export function checkStructuredOutput(schema: OutputSchema, finalText: string): OutputCheck {
  if (finalText.trim() === "") {
    return {
      ok: false,
      message: "the turn ended without a final message to check against the output schema",
    };
  }
  let value: unknown;
  try {
    value = JSON.parse(finalText);
  } catch (error) {
    return {
      ok: false,
      message: `the final message is not JSON (${error instanceof Error ? error.message : String(error)}): ${snippet(finalText)}`,
    };
  }
  if (!schema.validate(value)) {
    return {
      ok: false,
      message: `the final message does not match the output schema: ${describeErrors(schema.validate.errors)}`,
    };
  }
  return { ok: true, json: JSON.stringify(value) };
}

function describeErrors(errors: ErrorObject[] | null | undefined): string {
  const described = (errors ?? [])
    .slice(0, 5)
    .map(
      (error) =>
        `${error.instancePath === "" ? "(root)" : error.instancePath} ${error.message ?? "is invalid"}`,
    );
  const more = (errors?.length ?? 0) > 5 ? `; and ${(errors?.length ?? 0) - 5} more` : "";
  return described.join("; ") + more;
}

function snippet(text: string): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > 200 ? `${flat.slice(0, 200)}…` : flat;
}
