import { writeFile } from "node:fs/promises";
import { join } from "node:path";

import { afterEach, describe, expect, it } from "vitest";

import {
  pickPluginConfig,
  readPluginConfigFile,
} from "../../../../internal/config/plugin-config-file.js";
import { createTempDirs } from "../../../helpers/temp-dirs.js";

describe("pickPluginConfig", () => {
  const plugin = { state_dir: "/var/lib/x", sandbox: "bypass" };
  const daemon = {
    providers: [
      { name: "first", path: "/opt/first", config: { sandbox: "read-only" } },
      { name: "second", path: "/opt/second", config: plugin },
      { name: "bare", path: 7 },
    ],
  };

  it("takes an object without providers as the plugin config itself", () => {
    expect(pickPluginConfig(plugin, "f.json")).toEqual({ config: plugin });
  });

  it("takes the first provider entry of a daemon config.json, with its name and path", () => {
    expect(pickPluginConfig(daemon, "f.json")).toEqual({
      config: { sandbox: "read-only" },
      provider: { name: "first", path: "/opt/first" },
    });
  });

  it("takes the entry named by provider; an entry without config gives {}", () => {
    expect(pickPluginConfig(daemon, "f.json", "second").config).toBe(plugin);
    expect(pickPluginConfig(daemon, "f.json", "bare")).toEqual({
      config: {},
      provider: { name: "bare", path: undefined },
    });
  });

  it("names the file and the problem when it cannot pick", () => {
    expect(() => pickPluginConfig(daemon, "f.json", "none")).toThrow(
      'f.json: no provider named "none"',
    );
    expect(() => pickPluginConfig({ providers: [] }, "f.json")).toThrow(
      'f.json: "providers" lists no provider',
    );
    expect(() => pickPluginConfig({ providers: {} }, "f.json")).toThrow(
      'f.json: "providers" is not a list',
    );
    expect(() => pickPluginConfig(plugin, "f.json", "second")).toThrow(
      /f\.json is a plugin config .*no provider "second"/,
    );
  });
});

describe("readPluginConfigFile", () => {
  const temp = createTempDirs();
  afterEach(() => temp.removeAll());

  it("reads either shape from a file and refuses what is not JSON, keeping the cause", async () => {
    const dir = await temp.make("config-file");
    const plain = join(dir, "plain.json");
    const whole = join(dir, "daemon.json");
    const broken = join(dir, "broken.json");
    await writeFile(plain, JSON.stringify({ sandbox: "bypass" }));
    await writeFile(whole, JSON.stringify({ providers: [{ name: "p", path: "/p", config: {} }] }));
    await writeFile(broken, "{ not json");
    expect(await readPluginConfigFile(plain)).toEqual({ config: { sandbox: "bypass" } });
    expect((await readPluginConfigFile(whole)).provider).toEqual({ name: "p", path: "/p" });
    const error = await readPluginConfigFile(broken).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(/^cannot read .*broken\.json as JSON: /);
    expect((error as Error).cause).toBeInstanceOf(SyntaxError);
    await expect(readPluginConfigFile(join(dir, "missing.json"))).rejects.toThrow(/ENOENT/);
  });
});
