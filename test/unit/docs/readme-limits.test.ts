// The README's table of limits states the bounds the code enforces (internal/config/limits.ts and
// the few that live with their own concern).
import { readFileSync } from "node:fs";
import { resolve } from "node:path";

import { describe, expect, it } from "vitest";

import {
  MAX_BLOCK_IDS,
  MAX_CONFIG_JSON_BYTES,
  MAX_CONFIG_READ_BYTES,
  MAX_ENTRIES,
  MAX_JSON_DEPTH,
  MAX_LISTED_PROBLEMS,
  MAX_NAME_CHARS,
  MAX_OUTPUT_SCHEMA_BYTES,
  MAX_OVERRIDE_BYTES,
  MAX_OVERRIDE_DEPTH,
  MAX_OVERRIDE_KEYS,
  MAX_PATH_BYTES,
  MAX_PATH_COMPONENT_BYTES,
  MAX_PROMPT_IMAGES,
  MAX_REASON_CHARS,
  MAX_TEXT_CHARS,
  MAX_TOOL_DESCRIPTION_CHARS,
  MAX_TOOL_SCHEMA_BYTES,
  MAX_TURN_OVERRIDES_BYTES,
} from "../../../internal/config/limits.js";
import { MAX_AGENT_ID_CHARS } from "../../../internal/core/agent-id.js";
import { MAX_FRAME_BYTES } from "../../../internal/mcp/frame.js";
import { MAX_HOST_TOOLS } from "../../../internal/mcp/host-tools.js";
import { MAX_STATUS_DETAILS_BYTES } from "../../../internal/provider/grpc-status.js";
import { MAX_IMAGE_BYTES } from "../../../internal/turn/turn-images.js";
import { MAX_PROMPT_CHARS } from "../../../internal/turn/turn-plan.js";

const README = readFileSync(resolve(import.meta.dirname, "../../../README.md"), "utf8");

const grouped = (value: number) => String(value).replace(/\B(?=(\d{3})+(?!\d))/g, ",");

function limitRows(): Map<string, string> {
  const start = README.indexOf("<!-- limits:start -->");
  const end = README.indexOf("<!-- limits:end -->");
  expect(start).toBeGreaterThan(-1);
  expect(end).toBeGreaterThan(start);
  const rows = new Map<string, string>();
  for (const line of README.slice(start, end).split("\n").slice(4)) {
    const [what = "", limit = ""] = line
      .split("|")
      .slice(1, -1)
      .map((cell) => cell.trim());
    if (what !== "") rows.set(what.split(":")[0] ?? what, limit);
  }
  return rows;
}

describe("README limits table", () => {
  // The start of each row (up to its first colon) and every bound its limit cell must state.
  const expected: [string, number[]][] = [
    ["Configure `config_json`", [MAX_CONFIG_JSON_BYTES, MAX_CONFIG_READ_BYTES]],
    ["names", [MAX_NAME_CHARS]],
    ["text", [MAX_TEXT_CHARS]],
    ["entries of a map or list", [MAX_ENTRIES]],
    ["`config_overrides` (config)", [MAX_OVERRIDE_KEYS]],
    [
      "`config_overrides` nesting (config), dotted segments of a turn's `config_overrides` key",
      [MAX_OVERRIDE_DEPTH],
    ],
    [
      "one `-c key=value` as codex gets it (Linux refuses an argv element over 128 KiB)",
      [MAX_OVERRIDE_BYTES],
    ],
    [
      "a turn's `config_overrides`, keys and values together (codex's argv must fit `ARG_MAX`)",
      [MAX_TURN_OVERRIDES_BYTES],
    ],
    ["paths", [MAX_PATH_BYTES, MAX_PATH_COMPONENT_BYTES]],
    ["`TurnOptions.output_schema_json`", [MAX_OUTPUT_SCHEMA_BYTES, MAX_JSON_DEPTH]],
    [
      "host tools",
      [MAX_HOST_TOOLS, MAX_TOOL_DESCRIPTION_CHARS, MAX_TOOL_SCHEMA_BYTES, MAX_JSON_DEPTH],
    ],
    ["images on the prompt", [MAX_PROMPT_IMAGES, MAX_IMAGE_BYTES]],
    [
      "the prompt (codex's own bound; a turn over it fails with `PROMPT_TOO_LARGE`)",
      [MAX_PROMPT_CHARS],
    ],
    ["agent ids", [MAX_AGENT_ID_CHARS]],
    ["Consume `block_ids`", [MAX_BLOCK_IDS]],
    ["a cancel reason (`CancelTurn`, a RunTurn `cancel`)", [MAX_REASON_CHARS]],
    ["a host tool result (`tool_result`)", [MAX_FRAME_BYTES, MAX_JSON_DEPTH]],
  ];

  it("has one row per bound, each stating the numbers the code uses", () => {
    const rows = limitRows();
    expect([...rows.keys()]).toEqual(expected.map(([what]) => what));
    for (const [what, bounds] of expected) {
      for (const bound of bounds) expect(rows.get(what), what).toContain(grouped(bound));
    }
  });

  it("states how errors are kept short", () => {
    expect(README).toMatch(new RegExp(`names at most ${MAX_LISTED_PROBLEMS}\\s+problems`));
    expect(README).toMatch(new RegExp(`cut at ${grouped(MAX_STATUS_DETAILS_BYTES)}\\s+bytes`));
  });
});
