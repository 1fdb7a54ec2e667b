import { lstat, mkdir, readFile, readlink, rm, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";

import { afterEach, beforeEach, describe, expect, it } from "vitest";

import {
  codexHomeForAgent,
  prepareAgentCodexHome,
} from "../../../../internal/codex/agent-codex-home.js";
import { agentDirName } from "../../../../internal/core/agent-id.js";
import { createTempDirs } from "../../../helpers/temp-dirs.js";

describe("per-agent CODEX_HOME", () => {
  const temp = createTempDirs();
  let operator: string;
  let stateDir: string;
  let config: { codexHome: string; perAgentCodexHome: boolean; stateDir: string };

  beforeEach(async () => {
    operator = await temp.make("operator-home");
    stateDir = await temp.make("state");
    config = { codexHome: operator, perAgentCodexHome: true, stateDir };
  });
  afterEach(() => temp.removeAll());

  it("lives under the agent's state directory; without the option it is the operator's", () => {
    expect(codexHomeForAgent(config, "alice")).toBe(
      join(stateDir, "agents", agentDirName("alice"), "codex-home"),
    );
    expect(codexHomeForAgent({ ...config, perAgentCodexHome: false }, "alice")).toBe(operator);
  });

  it("links auth.json and auth.lock (even before the operator logs in) and copies config.toml", async () => {
    await writeFile(join(operator, "config.toml"), 'model = "a"\n');
    await writeFile(join(operator, "AGENTS.md"), "be nice\n");
    const prepared = await prepareAgentCodexHome(config, "alice");
    const home = prepared.codexHome;
    expect(await readlink(join(home, "auth.json"))).toBe(join(operator, "auth.json"));
    expect(await readlink(join(home, "auth.lock"))).toBe(join(operator, "auth.lock"));
    expect(await readlink(join(home, "AGENTS.md"))).toBe(join(operator, "AGENTS.md"));
    // Absent in the operator's home: not linked.
    await expect(lstat(join(home, ".env"))).rejects.toThrow();
    expect((await lstat(join(home, "config.toml"))).isFile()).toBe(true);
    expect(await readFile(join(home, "config.toml"), "utf8")).toBe('model = "a"\n');
    expect(prepared).toMatchObject({ configCopied: true, replacedCopies: [] });

    // Once logged in, the agent reads the operator's one file.
    await writeFile(join(operator, "auth.json"), '{"auth_mode":"apikey"}');
    expect(await readFile(join(home, "auth.json"), "utf8")).toBe('{"auth_mode":"apikey"}');
  });

  it("copies config.toml again only when the operator's file changed, keeping agent edits otherwise", async () => {
    await writeFile(join(operator, "config.toml"), 'model = "a"\n');
    const { codexHome } = await prepareAgentCodexHome(config, "alice");
    await writeFile(
      join(codexHome, "config.toml"),
      'model = "a"\n[mcp_servers.x]\ncommand = "y"\n',
    );
    expect((await prepareAgentCodexHome(config, "alice")).configCopied).toBe(false);
    expect(await readFile(join(codexHome, "config.toml"), "utf8")).toContain("mcp_servers");

    await writeFile(join(operator, "config.toml"), 'model = "b"\n');
    expect((await prepareAgentCodexHome(config, "alice")).configCopied).toBe(true);
    expect(await readFile(join(codexHome, "config.toml"), "utf8")).toBe('model = "b"\n');
    // The operator's file was never touched.
    expect(await readFile(join(operator, "config.toml"), "utf8")).toBe('model = "b"\n');

    await rm(join(operator, "config.toml"));
    expect((await prepareAgentCodexHome(config, "alice")).configRemoved).toBe(true);
    await expect(lstat(join(codexHome, "config.toml"))).rejects.toThrow();
  });

  it("replaces a copied auth.json and a config.toml symlink, which would write into the operator's file", async () => {
    const home = codexHomeForAgent(config, "bob");
    await mkdir(home, { recursive: true });
    await writeFile(join(home, "auth.json"), '{"stale":"copy"}');
    await writeFile(join(operator, "config.toml"), "x = 1\n");
    await symlink(join(operator, "config.toml"), join(home, "config.toml"));
    const prepared = await prepareAgentCodexHome(config, "bob");
    expect(prepared.replacedCopies).toEqual(["auth.json"]);
    expect((await lstat(join(home, "auth.json"))).isSymbolicLink()).toBe(true);
    expect((await lstat(join(home, "config.toml"))).isFile()).toBe(true);
    expect(await readFile(join(operator, "config.toml"), "utf8")).toBe("x = 1\n");
  });

  it("gives two agents two homes", async () => {
    const a = await prepareAgentCodexHome(config, "a");
    const b = await prepareAgentCodexHome(config, "b");
    expect(a.codexHome).not.toBe(b.codexHome);
    expect(await readlink(join(b.codexHome, "auth.json"))).toBe(join(operator, "auth.json"));
  });
});
