import { parse } from "smol-toml";
import { describe, expect, it } from "vitest";

import {
  checkLiteralOverride,
  flattenConfigOverrides,
  renderTomlLiteral,
} from "../../../../internal/config/config-overrides.js";

function valueOf(assignment: string): unknown {
  const literal = assignment.slice(assignment.indexOf("=") + 1);
  return parse(`v = ${literal}`)["v"];
}

describe("renderTomlLiteral", () => {
  const hostile = [
    'say "hi"',
    "back\\slash\\",
    "line one\nline two\r\n",
    'x" \nmalicious = true\n[evil]\ny = "',
    "'single' and '''triple'''",
    "tab\tnul\u0000del\u007f",
    "unicode ✓ — ’ 𝄞",
    "",
  ];

  it.each(hostile)("renders %j as one line that parses back to the same string", (text) => {
    const rendered = renderTomlLiteral(text);
    expect(rendered.ok).toBe(true);
    if (!rendered.ok) return;
    expect(rendered.literal).not.toContain("\n");
    const document = parse(`v = ${rendered.literal}`);
    expect(Object.keys(document)).toEqual(["v"]);
    expect(document["v"]).toBe(text);
  });

  it("renders numbers, booleans and arrays as TOML values", () => {
    expect(renderTomlLiteral(3)).toEqual({ ok: true, literal: "3" });
    expect(renderTomlLiteral(1.5)).toEqual({ ok: true, literal: "1.5" });
    expect(renderTomlLiteral(false)).toEqual({ ok: true, literal: "false" });
    const array = renderTomlLiteral(["-y", 'quote"d', [1, 2]]);
    expect(array.ok && parse(`v = ${array.literal}`)["v"]).toEqual(["-y", 'quote"d', [1, 2]]);
  });

  it("refuses values TOML or a single -c value cannot carry", () => {
    expect(renderTomlLiteral(null)).toMatchObject({ ok: false });
    expect(renderTomlLiteral(Number.NaN)).toMatchObject({ ok: false });
    expect(renderTomlLiteral([{ a: 1 }])).toMatchObject({
      ok: false,
      message: expect.stringContaining("arrays of tables"),
    });
    expect(renderTomlLiteral([1, null])).toMatchObject({ ok: false });
  });
});

describe("flattenConfigOverrides", () => {
  it("flattens nested objects into dotted keys in order", () => {
    const result = flattenConfigOverrides({
      model: "o3",
      mcp_servers: {
        "plexum-host-a1": { command: "/usr/bin/x", args: ["mcp-host"], env: { TOKEN_VAR: 'a"b' } },
      },
      approval_policy: "never",
    });
    expect(result.errors).toEqual([]);
    expect(
      result.assignments.map((assignment) => assignment.slice(0, assignment.indexOf("="))),
    ).toEqual([
      "model",
      "mcp_servers.plexum-host-a1.command",
      "mcp_servers.plexum-host-a1.args",
      "mcp_servers.plexum-host-a1.env.TOKEN_VAR",
      "approval_policy",
    ]);
    expect(valueOf(result.assignments[3] ?? "")).toBe('a"b');
  });

  it("reports every bad key and value with its config path", () => {
    const result = flattenConfigOverrides({
      "dotted.key": 1,
      "has=equals": 1,
      "has space": 1,
      nested: { bad: null, ok: 1, "": 2 },
      empty: {},
    });
    expect(result.errors.map((issue) => issue.path)).toEqual([
      "config_overrides.dotted.key",
      "config_overrides.has=equals",
      "config_overrides.has space",
      "config_overrides.nested.bad",
      "config_overrides.nested.",
    ]);
    expect(result.errors[0]?.message).toContain("'.'");
    expect(result.warnings).toEqual([
      { path: "config_overrides.empty", message: "empty table ignored" },
    ]);
    expect(result.assignments).toEqual(["nested.ok=1"]);
  });
});

describe("checkLiteralOverride", () => {
  it("accepts a dotted key with a TOML literal", () => {
    expect(checkLiteralOverride("model_reasoning_effort", '"high"')).toEqual({
      ok: true,
      assignment: 'model_reasoning_effort="high"',
    });
  });

  it("rejects unparsable literals, smuggled keys and bad key segments", () => {
    expect(checkLiteralOverride("model", "bare words")).toMatchObject({ ok: false });
    expect(checkLiteralOverride("model", '"x"\nsandbox_mode = "danger-full-access"')).toMatchObject(
      {
        ok: false,
        message: expect.stringContaining("exactly one"),
      },
    );
    expect(checkLiteralOverride("a..b", "1")).toMatchObject({ ok: false });
    expect(checkLiteralOverride("a=b", "1")).toMatchObject({ ok: false });
  });
});
