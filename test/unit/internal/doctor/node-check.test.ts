import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { launcherNode, nodeChecks, nodeSupport } from "../../../../internal/doctor/node-check.js";
import { ProcessRegistry } from "../../../../internal/proc/process-registry.js";
import { launcherHeader } from "../../../../scripts/launcher.mjs";
import { createTempDirs } from "../../../helpers/temp-dirs.js";

const processes = new ProcessRegistry();

const dirs = createTempDirs();
afterAll(() => dirs.removeAll());

describe("nodeSupport", () => {
  it("fails what the launcher refuses, passes 22 and 24, and warns about 20 and untested majors", () => {
    const status = (version: string) => nodeSupport(version).status;
    expect(status("v18.19.0")).toBe("fail");
    expect(status("v20.16.0")).toBe("fail");
    expect(status("v20.17.0")).toBe("warn");
    expect(nodeSupport("v20.20.2").note).toContain("end of life");
    expect(status("v22.0.0")).toBe("ok");
    expect(status("v24.22.3")).toBe("ok");
    expect(status("v23.11.0")).toBe("warn");
    expect(status("v26.1.0")).toBe("warn");
  });
});

describe("launcherNode", () => {
  let root: string;
  let tool: string;

  beforeAll(async () => {
    root = await dirs.make("node-check");
    // An executable made of the real launcher; it prints which `node` wrapper ran it.
    tool = join(root, "tool");
    writeFileSync(tool, `${launcherHeader()}process.stdout.write(process.env.WHICH_NODE ?? "");\n`);
    chmodSync(tool, 0o755);
  });

  /** A directory with a `node` that runs this test's node, marked with the directory's name. */
  function nodeIn(name: string, options: { executable?: boolean } = {}): string {
    const dir = join(root, name);
    mkdirSync(dir, { recursive: true });
    const node = join(dir, "node");
    writeFileSync(node, `#!/bin/sh\nWHICH_NODE=${name} exec "${process.execPath}" "$@"\n`);
    chmodSync(node, options.executable === false ? 0o644 : 0o755);
    return dir;
  }

  it("picks the node the real launcher runs, for every kind of PATH", async () => {
    const a = nodeIn("a");
    const b = nodeIn("b");
    const notExecutable = nodeIn("not-executable", { executable: false });
    const directory = join(root, "dir-named-node");
    mkdirSync(join(directory, "node"), { recursive: true });
    nodeIn("relative");
    const cases: NodeJS.ProcessEnv[] = [
      { PATH: `${a}:${b}` },
      { PATH: `${b}:${a}` },
      { PATH: `${notExecutable}:${directory}:${b}` },
      { PATH: `relative:${a}` },
      { PATH: `${a}`, PLEXUM_NODE_PATH: join(b, "node") },
    ];
    for (const env of cases) {
      const launched = spawnSync(tool, [], { cwd: root, env, encoding: "utf8" });
      expect(launched.status, launched.stderr).toBe(0);
      const found = await launcherNode(env);
      expect(found.path, JSON.stringify(env)).toBe(join(root, launched.stdout, "node"));
    }
  });

  it("finds none where the launcher finds none, and says why", async () => {
    const empty = join(root, "empty");
    mkdirSync(empty, { recursive: true });
    for (const env of [{ PATH: empty }, { PATH: nodeIn("x"), PLEXUM_NODE_PATH: "/nope/node" }]) {
      const launched = spawnSync(tool, [], { cwd: root, env, encoding: "utf8" });
      expect(launched.status).toBe(1);
      const found = await launcherNode(env);
      expect(found.path).toBeUndefined();
      expect(found).toHaveProperty("problem");
    }
  });
});

describe("nodeChecks", () => {
  let root: string;
  beforeAll(async () => {
    root = await dirs.make("node-checks");
  });

  function nodeAt(name: string): string {
    const dir = join(root, name);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "node"), "#!/bin/sh\n");
    chmodSync(join(dir, "node"), 0o755);
    return join(dir, "node");
  }

  it("passes a supported node that systemd's PATH finds too", async () => {
    const node = nodeAt("usr-bin");
    const results = await nodeChecks({
      processes,
      env: { PATH: join(root, "usr-bin") },
      current: { path: node, version: "v24.22.3" },
      daemonPath: join(root, "usr-bin"),
    });
    expect(results).toEqual([
      expect.objectContaining({ name: "node", status: "ok" }),
      expect.objectContaining({ name: "node under systemd", status: "ok" }),
    ]);
    expect(results[0]?.detail).toBe(`node v24.22.3 at ${node} (the first node on PATH): supported`);
  });

  it("warns when systemd's PATH would find no node or an old one, naming the unit setting", async () => {
    const mine = nodeAt("nvm");
    const old = nodeAt("distro");
    const probed: string[] = [];
    const none = await nodeChecks({
      processes,
      env: { PATH: join(root, "nvm") },
      current: { path: mine, version: "v22.23.5" },
      daemonPath: join(root, "nowhere"),
    });
    expect(none[1]).toMatchObject({
      status: "warn",
      remedy: `set Environment=PLEXUM_NODE_PATH=${mine} in the daemon's unit`,
    });
    const other = await nodeChecks({
      processes,
      env: { PATH: join(root, "nvm") },
      current: { path: mine, version: "v22.23.5" },
      daemonPath: join(root, "distro"),
      probeVersion: async (node) => {
        probed.push(node);
        return "v18.19.0";
      },
    });
    expect(probed).toEqual([old]);
    // The daemon's environment may set PLEXUM_NODE_PATH; the doctor cannot know, so it warns.
    expect(other[1]).toMatchObject({ name: "node under systemd", status: "warn" });
    expect(other[1]?.detail).toContain(`node v18.19.0 at ${old}`);
    expect(other[1]?.remedy).toContain(`PLEXUM_NODE_PATH=${mine}`);
  });

  it("fails when the launcher would find no node, and reports PLEXUM_NODE_PATH as given", async () => {
    const failed = await nodeChecks({
      processes,
      env: { PATH: join(root, "nowhere") },
      daemonPath: "",
    });
    expect(failed[0]).toMatchObject({ name: "node", status: "fail" });
    expect(failed[0]?.remedy).toContain("PLEXUM_NODE_PATH");
    const node = nodeAt("opt");
    const set = await nodeChecks({
      processes,
      env: { PATH: "", PLEXUM_NODE_PATH: node },
      current: { path: node, version: "v22.23.5" },
    });
    expect(set.map((result) => result.status)).toEqual(["ok", "ok"]);
    expect(set[1]?.detail).toContain(`Environment=PLEXUM_NODE_PATH=${node}`);
  });
});
