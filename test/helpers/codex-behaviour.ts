// Version-dependent facts about the codex under test, for tests that run against every tested
// release. Features the plugin depends on are in internal/codex/codex-capabilities.ts; the
// behaviours here are codex's own, which some tests observe, each with the first release that
// shows it (measured against the npm releases, see README "Supported codex versions").
import { expect } from "vitest";

import { type CodexFeature, codexFeatures } from "../../internal/codex/codex-capabilities.js";
import { compareVersions } from "../../internal/codex/codex-version.js";
import { requireCodexUnderTest } from "./codex-bin.js";

const BEHAVIOURS = {
  /** Retries an HTTP 429 (request_max_retries), after the Retry-After delay when one is sent. */
  retries_rate_limits: "0.161.0",
  /** Sends `history_initialization` in the x-codex-turn-metadata request header. */
  turn_metadata_history_initialization: "0.163.0",
} as const;

export type CodexBehaviour = keyof typeof BEHAVIOURS;

/** True when the codex under test shows `behaviour`. */
export function codexShows(behaviour: CodexBehaviour): boolean {
  return compareVersions(requireCodexUnderTest().version, BEHAVIOURS[behaviour]) >= 0;
}

/** True when the codex under test has the plugin-relevant `feature`. */
export function codexHas(feature: CodexFeature): boolean {
  return codexFeatures(requireCodexUnderTest().version).includes(feature);
}

/**
 * The text of an MCP tool result as the model received it in a function_call_output. Codex from
 * 0.151.0 sends the text; older ones send "Wall time: … Output:\n" and the JSON of the MCP content
 * array, which this checks and unwraps.
 */
export function mcpResultText(output: string | undefined): string {
  if (codexHas("mcp_text_results")) return output ?? "";
  const wrapped = /^Wall time: [\d.]+ seconds\nOutput:\n(\[.*\])$/s.exec(output ?? "");
  expect(wrapped, `a JSON content array after "Output:": ${output}`).not.toBeNull();
  const content = JSON.parse(wrapped?.[1] ?? "[]") as { type: string; text: string }[];
  expect(content.map((part) => part.type)).toEqual(content.map(() => "text"));
  return content.map((part) => part.text).join("");
}
