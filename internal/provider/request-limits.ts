// The sizes of a RunTurn start message and of Consume's ids, checked before the request is
// converted or anything is done with it (the bounds are internal/config/limits.ts). A violation
// fails the call with REQUEST_INVALID, INVALID_ARGUMENT on the wire, naming every field over.
import type {
  EndpointOverride,
  StartTurn,
  TurnOptions,
} from "../../src/gen/plexum/provider/v1/provider_pb.js";
import {
  type FieldProblem,
  jsonTextProblem,
  lengthProblem,
  MAX_BLOCK_IDS,
  MAX_ENTRIES,
  MAX_NAME_CHARS,
  MAX_OUTPUT_SCHEMA_BYTES,
  MAX_OVERRIDE_BYTES,
  MAX_TEXT_CHARS,
  MAX_TURN_OVERRIDES_BYTES,
  pathProblem,
  summariseProblems,
} from "../config/limits.js";
import { AppError } from "../core/app-error.js";

/** Throws AppError REQUEST_INVALID naming each field of `start` over its bound. */
export function checkStartTurnLimits(start: StartTurn): void {
  const problems: FieldProblem[] = [];
  checkText(problems, "model", start.model, MAX_NAME_CHARS);
  if (start.options !== undefined) checkOptions(problems, start.options);
  throwIfAny("invalid turn request", problems);
}

/** Throws AppError REQUEST_INVALID unless the ids are within MAX_BLOCK_IDS of MAX_NAME_CHARS. */
export function checkBlockIdLimits(blockIds: readonly string[]): void {
  const problems: FieldProblem[] = [];
  if (blockIds.length > MAX_BLOCK_IDS) {
    problems.push({ field: "block_ids", message: entries(blockIds.length, MAX_BLOCK_IDS) });
  } else {
    blockIds.forEach((id, index) => {
      checkText(problems, `block_ids.${index}`, id, MAX_NAME_CHARS);
    });
  }
  throwIfAny("invalid Consume request", problems);
}

/** Throws AppError REQUEST_INVALID unless CompactThread's model is within MAX_NAME_CHARS. */
export function checkCompactModelLimits(model: string): void {
  const problems: FieldProblem[] = [];
  checkText(problems, "model", model, MAX_NAME_CHARS);
  throwIfAny("invalid CompactThread request", problems);
}

function checkOptions(problems: FieldProblem[], options: TurnOptions): void {
  checkText(problems, "options.sandbox", options.sandbox ?? "", MAX_NAME_CHARS);
  checkText(problems, "options.reasoning_effort", options.reasoningEffort, MAX_NAME_CHARS);
  checkText(problems, "options.worktree.base_ref", options.worktree?.baseRef ?? "", MAX_TEXT_CHARS);
  checkOverrides(problems, options.configOverrides);
  checkMap(problems, "options.model_settings", options.modelSettings, MAX_NAME_CHARS);
  if (options.endpoint !== undefined) checkEndpoint(problems, options.endpoint);
  const dirs = options.writableDirs;
  if (dirs.length > MAX_ENTRIES) {
    problems.push({ field: "options.writable_dirs", message: entries(dirs.length) });
  } else {
    dirs.forEach((dir, index) => {
      const problem = pathProblem(dir);
      if (problem !== undefined) {
        problems.push({ field: `options.writable_dirs.${index}`, message: problem });
      }
    });
  }
  if (options.outputSchemaJson !== "") {
    const problem = jsonTextProblem(options.outputSchemaJson, MAX_OUTPUT_SCHEMA_BYTES);
    if (problem !== undefined) {
      problems.push({ field: "options.output_schema_json", message: problem });
    }
  }
}

// Each override becomes one codex argv element, and all of them together must fit ARG_MAX.
function checkOverrides(problems: FieldProblem[], overrides: Record<string, string>): void {
  const keys = Object.keys(overrides);
  if (keys.length > MAX_ENTRIES) {
    problems.push({ field: "options.config_overrides", message: entries(keys.length) });
    return;
  }
  let total = 0;
  for (const key of keys) {
    const bytes = Buffer.byteLength(key, "utf8") + 1 + Buffer.byteLength(overrides[key] ?? "");
    total += bytes;
    if (bytes > MAX_OVERRIDE_BYTES) {
      problems.push({
        field: `options.config_overrides.${key}`,
        message: `is ${bytes} bytes as key=value; at most ${MAX_OVERRIDE_BYTES} are accepted`,
      });
    }
  }
  if (total > MAX_TURN_OVERRIDES_BYTES) {
    problems.push({
      field: "options.config_overrides",
      message: `is ${total} bytes in all; at most ${MAX_TURN_OVERRIDES_BYTES} are accepted`,
    });
  }
}

function checkEndpoint(problems: FieldProblem[], endpoint: EndpointOverride): void {
  checkText(problems, "options.endpoint.base_url", endpoint.baseUrl, MAX_TEXT_CHARS);
  checkText(problems, "options.endpoint.api_key", endpoint.apiKey, MAX_TEXT_CHARS);
  checkText(problems, "options.endpoint.wire_api", endpoint.wireApi, MAX_NAME_CHARS);
  checkText(problems, "options.endpoint.model", endpoint.model, MAX_NAME_CHARS);
  checkMap(problems, "options.endpoint.http_headers", endpoint.httpHeaders, MAX_TEXT_CHARS);
  checkMap(problems, "options.endpoint.query_params", endpoint.queryParams, MAX_TEXT_CHARS);
}

// At most MAX_ENTRIES entries, names of at most MAX_NAME_CHARS, values of at most `maxValue`.
function checkMap(
  problems: FieldProblem[],
  field: string,
  map: Record<string, string>,
  maxValue: number,
): void {
  const keys = Object.keys(map);
  if (keys.length > MAX_ENTRIES) {
    problems.push({ field, message: entries(keys.length) });
    return;
  }
  for (const key of keys) {
    const name = lengthProblem(key, MAX_NAME_CHARS);
    if (name !== undefined) problems.push({ field: `${field}.${key}`, message: `name ${name}` });
    checkText(problems, `${field}.${key}`, map[key] ?? "", maxValue);
  }
}

function checkText(problems: FieldProblem[], field: string, value: string, max: number): void {
  const problem = lengthProblem(value, max);
  if (problem !== undefined) problems.push({ field, message: problem });
}

function entries(count: number, max = MAX_ENTRIES): string {
  return `has ${count} entries; at most ${max} are accepted`;
}

function throwIfAny(what: string, problems: readonly FieldProblem[]): void {
  if (problems.length === 0) return;
  const { detail, fields } = summariseProblems(problems);
  throw new AppError("REQUEST_INVALID", `${what}: ${detail}`, { fields });
}
