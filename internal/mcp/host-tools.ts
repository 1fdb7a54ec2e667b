// The host's tools as codex sees them: validation of the tool list, and the MCP server name under
// which codex registers the bridge (and from which the model-visible namespace follows).
import { createHash } from "node:crypto";

import {
  type FieldProblem,
  jsonTextProblem,
  lengthProblem,
  MAX_TOOL_DESCRIPTION_CHARS,
  MAX_TOOL_SCHEMA_BYTES,
  quote,
  summariseProblems,
} from "../config/limits.js";
import { AppError } from "../core/app-error.js";

/** MCP tool name rule (spec 2025-06-18 guidance), capped at codex's 64-byte tool name limit. */
const TOOL_NAME = /^[A-Za-z0-9_.-]{1,64}$/;
export const MAX_HOST_TOOLS = 128;

const SERVER_PREFIX = "plexum-host-";
// Keeps `mcp__plexum_host_<id>` under codex's 64-byte limit, beyond which it appends a hash.
const MAX_SANITISED_ID_CHARS = 40;
const LONG_ID_HASH_HEX = 8;

/** A dynamic tool the host implements, offered to codex through mcp-host for one turn. */
export interface HostToolSpec {
  name: string;
  description: string;
  /** JSON Schema of the arguments; always an object schema. */
  inputSchema: Record<string, unknown>;
}

/** The wire form of one host tool, before validation. */
export interface HostToolInput {
  name: string;
  description: string;
  inputSchemaJson: string;
}

/**
 * Validates the host's tool list: at most MAX_HOST_TOOLS, names unique and well-formed,
 * descriptions and schemas within their bounds, schemas JSON objects of type "object" (empty means
 * "no arguments"). Throws AppError REQUEST_INVALID naming every problem.
 */
export function validateHostTools(tools: readonly HostToolInput[]): HostToolSpec[] {
  if (tools.length > MAX_HOST_TOOLS) {
    // Refused as a whole: no tool of an over-long list is looked at.
    throw new AppError(
      "REQUEST_INVALID",
      `invalid host tools: tools: ${tools.length} tools given; at most ${MAX_HOST_TOOLS} are allowed`,
      { fields: ["tools"] },
    );
  }
  const problems: FieldProblem[] = [];
  const seen = new Set<string>();
  const specs: HostToolSpec[] = [];
  tools.forEach((tool, index) => {
    const at = `tools[${index}]`;
    if (!TOOL_NAME.test(tool.name)) {
      problems.push({
        field: `${at}.name`,
        message: `${quote(tool.name)} must be 1 to 64 characters from [A-Za-z0-9_.-]`,
      });
    } else if (seen.has(tool.name)) {
      problems.push({
        field: `${at}.name`,
        message: `${quote(tool.name)} repeats an earlier tool`,
      });
    }
    seen.add(tool.name);
    const long = lengthProblem(tool.description, MAX_TOOL_DESCRIPTION_CHARS);
    if (long !== undefined) problems.push({ field: `${at}.description`, message: long });
    const schema = parseInputSchema(tool.inputSchemaJson);
    if (typeof schema === "string") {
      problems.push({ field: `${at}.input_schema_json`, message: schema });
      return;
    }
    specs.push({ name: tool.name, description: tool.description, inputSchema: schema });
  });
  if (problems.length > 0) {
    const { detail, fields } = summariseProblems(problems);
    throw new AppError("REQUEST_INVALID", `invalid host tools: ${detail}`, { fields });
  }
  return specs;
}

// The schema object, or a string saying what is wrong with it.
function parseInputSchema(json: string): Record<string, unknown> | string {
  if (json.trim() === "") return { type: "object", properties: {} };
  // Bounded before parsing: the schema is re-serialised for codex on every tools/list.
  const problem = jsonTextProblem(json, MAX_TOOL_SCHEMA_BYTES);
  if (problem !== undefined) return problem;
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (error) {
    return `is not valid JSON (${(error as Error).message})`;
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return "must be a JSON object (a JSON Schema)";
  }
  const schema = value as Record<string, unknown>;
  if (schema["type"] !== "object") {
    return 'must be an object schema ("type": "object"); MCP tool arguments are always an object';
  }
  return schema;
}

/**
 * `plexum-host-<sanitised agent id>`: characters outside [A-Za-z0-9_-] become `_`, so the name is a
 * bare TOML key that codex's dotted `-c mcp_servers.<name>.…` paths can address. Ids longer than
 * 40 characters keep a prefix plus a hash of the whole id.
 */
export function mcpServerName(agentId: string): string {
  let id = agentId.replace(/[^A-Za-z0-9_-]/g, "_");
  if (id.length > MAX_SANITISED_ID_CHARS) {
    const hash = createHash("sha256").update(agentId, "utf8").digest("hex");
    id = `${id.slice(0, MAX_SANITISED_ID_CHARS - LONG_ID_HASH_HEX - 1)}-${hash.slice(0, LONG_ID_HASH_HEX)}`;
  }
  return `${SERVER_PREFIX}${id}`;
}

/**
 * The Responses `namespace` in which codex 0.169.0 shows a server's tools to the model:
 * `mcp__<server name>` with everything outside [A-Za-z0-9_] replaced by `_`.
 */
export function modelNamespace(serverName: string): string {
  return `mcp__${serverName.replace(/[^A-Za-z0-9_]/g, "_")}`;
}
