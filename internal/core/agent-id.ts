// Agent ids come from the daemon and become directory names, so they are validated once, where a
// call enters the plugin, and carried as AgentId from there; each maps to a bounded,
// collision-free, filesystem-safe directory name.
import { createHash } from "node:crypto";

import { AppError } from "./app-error.js";

declare const agentIdBrand: unique symbol;
/** An agent id that passed {@link parseAgentId}. */
export type AgentId = string & { readonly [agentIdBrand]: true };

export const MAX_AGENT_ID_CHARS = 256;
const PREFIX_CHARS = 48;
const HASH_HEX_CHARS = 16;

/** True for C0 and C1 control characters, including NUL. */
function hasControlCharacter(text: string): boolean {
  for (let index = 0; index < text.length; index += 1) {
    const code = text.charCodeAt(index);
    if (code <= 0x1f || (code >= 0x7f && code <= 0x9f)) return true;
  }
  return false;
}
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** The id as an AgentId; throws AppError AGENT_ID_INVALID unless it is usable. */
export function parseAgentId(agentId: string): AgentId {
  validateAgentId(agentId);
  return agentId as AgentId;
}

/** Throws AppError AGENT_ID_INVALID unless `agentId` is usable; any other Unicode is allowed. */
export function validateAgentId(agentId: string): void {
  const problem = agentIdProblem(agentId);
  if (problem !== undefined) {
    // Quoted shortened: the id may be as long as the host cares to send.
    const shown =
      agentId.length <= 64 ? JSON.stringify(agentId) : `${JSON.stringify(agentId.slice(0, 64))}…`;
    throw new AppError("AGENT_ID_INVALID", `invalid agent id ${shown}: ${problem}`, {
      fields: ["agent_id"],
    });
  }
}

function agentIdProblem(agentId: string): string | undefined {
  if (agentId === "") return "it must not be empty";
  // Every character takes at most two UTF-16 units: a far longer id is refused without counting.
  if (agentId.length > 2 * MAX_AGENT_ID_CHARS) {
    return `it has over ${MAX_AGENT_ID_CHARS} characters; the limit is ${MAX_AGENT_ID_CHARS}`;
  }
  const length = [...agentId].length;
  if (length > MAX_AGENT_ID_CHARS) {
    return `it has ${length} characters; the limit is ${MAX_AGENT_ID_CHARS}`;
  }
  if (hasControlCharacter(agentId)) return "it must not contain NUL or other control characters";
  if (agentId.includes("/") || agentId.includes("\\")) return "it must not contain '/' or '\\'";
  if (agentId.includes("..")) return "it must not contain '..'";
  if (LONE_SURROGATE.test(agentId)) return "it is not well-formed Unicode (lone surrogate)";
  return undefined;
}

/**
 * `<readable prefix>-<16 hex of sha256(id)>`. The prefix keeps [A-Za-z0-9_-] so operators can find
 * an agent's directory; the hash makes distinct ids distinct even when their prefixes collide.
 */
export function agentDirName(agentId: string): string {
  const prefix = agentId
    .replace(/[^A-Za-z0-9_-]+/g, "_")
    .replace(/^[_-]+|[_-]+$/g, "")
    .slice(0, PREFIX_CHARS);
  const hash = createHash("sha256").update(agentId, "utf8").digest("hex").slice(0, HASH_HEX_CHARS);
  return `${prefix === "" ? "agent" : prefix}-${hash}`;
}
