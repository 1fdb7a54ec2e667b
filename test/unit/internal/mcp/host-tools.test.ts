import { describe, expect, it } from "vitest";

import {
  mcpServerName,
  modelNamespace,
  validateHostTools,
} from "../../../../internal/mcp/host-tools.js";

describe("validateHostTools", () => {
  it("parses schemas and gives an empty one an object schema", () => {
    const schema = { type: "object", properties: { q: { type: "string" } }, required: ["q"] };
    expect(
      validateHostTools([
        { name: "lookup", description: "Looks up", inputSchemaJson: JSON.stringify(schema) },
        { name: "ping.v2-x_y", description: "", inputSchemaJson: "" },
      ]),
    ).toEqual([
      { name: "lookup", description: "Looks up", inputSchema: schema },
      {
        name: "ping.v2-x_y",
        description: "",
        inputSchema: { type: "object", properties: {} },
      },
    ]);
  });

  it("reports every problem at once, with the fields", () => {
    let error: unknown;
    try {
      validateHostTools([
        { name: "bad name", description: "", inputSchemaJson: "" },
        { name: "ok", description: "", inputSchemaJson: "{" },
        { name: "ok", description: "", inputSchemaJson: '{"type":"string"}' },
        { name: "x".repeat(65), description: "", inputSchemaJson: "[]" },
      ]);
    } catch (caught) {
      error = caught;
    }
    expect(error).toMatchObject({
      code: "REQUEST_INVALID",
      fields: [
        "tools[0].name",
        "tools[1].input_schema_json",
        "tools[2].name",
        "tools[2].input_schema_json",
        "tools[3].name",
        "tools[3].input_schema_json",
      ],
    });
    const message = (error as Error).message;
    expect(message).toContain('tools[0].name: "bad name" must be 1 to 64 characters');
    expect(message).toContain("tools[1].input_schema_json: is not valid JSON");
    expect(message).toContain('tools[2].name: "ok" repeats an earlier tool');
    expect(message).toContain('must be an object schema ("type": "object")');
    expect(message).toContain("tools[3].input_schema_json: must be a JSON object");
  });
});

describe("mcpServerName and modelNamespace", () => {
  it("keeps simple ids readable and maps the namespace as codex does", () => {
    expect(mcpServerName("agent-a")).toBe("plexum-host-agent-a");
    expect(modelNamespace(mcpServerName("agent-a"))).toBe("mcp__plexum_host_agent_a");
  });

  it("replaces characters a dotted -c key cannot hold", () => {
    expect(mcpServerName("team.alpha@host:1")).toBe("plexum-host-team_alpha_host_1");
    expect(mcpServerName("агент")).toBe("plexum-host-_____");
  });

  it("bounds long ids with a hash of the whole id", () => {
    const a = mcpServerName(`${"a".repeat(60)}1`);
    const b = mcpServerName(`${"a".repeat(60)}2`);
    expect(a).toMatch(/^plexum-host-a{31}-[0-9a-f]{8}$/);
    expect(a).not.toBe(b);
    expect(modelNamespace(a).length).toBeLessThanOrEqual(64);
  });
});
