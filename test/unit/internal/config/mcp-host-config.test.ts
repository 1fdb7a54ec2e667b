import { describe, expect, it } from "vitest";

import { parseConfig } from "../../../../internal/config/load-config.js";

const context = { env: {}, homeDir: "/home/op" };

describe("config mcp_host", () => {
  it("resolves the bridge settings in milliseconds", () => {
    const { config, warnings } = parseConfig(
      {
        mcp_host: {
          command: "/opt/plexum/plugins/plexum-openai-provider-plugin",
          socket_dir: "/run/plexum",
          startup_timeout_seconds: 5,
          tool_timeout_seconds: 60,
          host_timeout_seconds: 45.5,
        },
      },
      context,
    );
    expect(warnings).toEqual([]);
    expect(config.mcpHost).toEqual({
      command: "/opt/plexum/plugins/plexum-openai-provider-plugin",
      socketDir: "/run/plexum",
      startupTimeoutMs: 5000,
      toolTimeoutMs: 60_000,
      hostTimeoutMs: 45_500,
    });
  });

  it("rejects relative paths, bad timeouts and unknown keys, naming each field", () => {
    expect(() =>
      parseConfig(
        {
          mcp_host: {
            command: "plugin",
            socket_dir: "run",
            host_timeout_seconds: 0,
            tool_timeout_seconds: -1,
            extra: true,
          },
        },
        context,
      ),
    ).toThrow(
      expect.objectContaining({
        code: "CONFIG_INVALID",
        fields: expect.arrayContaining([
          "mcp_host.command",
          "mcp_host.socket_dir",
          "mcp_host.host_timeout_seconds",
          "mcp_host.tool_timeout_seconds",
          "mcp_host.extra",
        ]),
      }),
    );
  });

  it("warns when codex's tool timeout would fire before the host timeout", () => {
    const { warnings } = parseConfig(
      { mcp_host: { host_timeout_seconds: 120, tool_timeout_seconds: 60 } },
      context,
    );
    expect(warnings).toEqual([
      expect.objectContaining({
        field: "mcp_host.host_timeout_seconds",
        message: expect.stringContaining("is not below mcp_host.tool_timeout_seconds (60)"),
      }),
    ]);
  });
});
