// The launcher every executable starts with (scripts/launcher.mjs): which node it runs, what it
// says when there is none or it is too old. Runs a file made of the real header and a tiny body.
import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { launcherHeader } from "../../../scripts/launcher.mjs";
import { createTempDirs } from "../../helpers/temp-dirs.js";

const dirs = createTempDirs();
afterAll(() => dirs.removeAll());

// hclog's timestamp, which go-plugin parses strictly (six fractional digits).
const HCLOG_TIMESTAMP = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/;

interface Seen {
  node: string;
  version: string;
  arena: string | undefined;
  argv: string[];
}

describe("launcher", () => {
  let root: string;
  let tool: string;
  /** A directory holding only `date`, so a PATH of it finds no node. */
  let dateOnly: string;

  beforeAll(async () => {
    root = await dirs.make("launcher");
    tool = join(root, "tool");
    writeFileSync(
      tool,
      launcherHeader() +
        "process.stdout.write(JSON.stringify({ node: process.execPath, version: process.version, " +
        "arena: process.env.MALLOC_ARENA_MAX, argv: process.argv.slice(2) }));\n",
    );
    chmodSync(tool, 0o755);
    dateOnly = join(root, "date-only");
    mkdirSync(dateOnly);
    const date = spawnSync("sh", ["-c", "command -v date"], { encoding: "utf8" }).stdout.trim();
    symlinkSync(date, join(dateOnly, "date"));
  });

  function run(env: NodeJS.ProcessEnv, args: string[] = []) {
    const { PLEXUM_NODE_PATH: _node, MALLOC_ARENA_MAX: _arena, PATH: _path, ...rest } = process.env;
    return spawnSync(tool, args, { env: { ...rest, ...env }, encoding: "utf8" });
  }

  function nodeDir(name: string): string {
    const dir = join(root, name);
    mkdirSync(dir);
    symlinkSync(process.execPath, join(dir, "node"));
    return dir;
  }

  function errorLine(stderr: string): { "@level": string; "@message": string } {
    const lines = stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    const entry = JSON.parse(lines[0] ?? "") as {
      "@level": string;
      "@message": string;
      "@timestamp"?: string;
    };
    expect(entry["@level"]).toBe("error");
    expect(entry["@timestamp"]).toMatch(HCLOG_TIMESTAMP);
    return entry;
  }

  it("runs the first node on PATH, skipping relative entries, with malloc arenas capped", () => {
    const first = nodeDir("first");
    const second = nodeDir("second");
    // A `node` in the working directory is never picked up through a relative PATH entry.
    symlinkSync("/bin/false", join(root, "node"));
    const result = run({ PATH: `.:${first}:${second}` }, ["a b", "--flag"]);
    expect(result.status, result.stderr).toBe(0);
    const seen = JSON.parse(result.stdout) as Seen;
    expect(seen).toEqual({
      node: process.execPath,
      version: process.version,
      arena: "2",
      argv: ["a b", "--flag"],
    });
    const spawned = spawnSync(tool, [], {
      cwd: root,
      env: { PATH: `.:${first}`, MALLOC_ARENA_MAX: "4" },
      encoding: "utf8",
    });
    // An operator's own value is kept.
    expect((JSON.parse(spawned.stdout) as Seen).arena).toBe("4");
  });

  it("runs PLEXUM_NODE_PATH in preference to PATH", () => {
    const result = run({ PATH: dateOnly, PLEXUM_NODE_PATH: process.execPath });
    expect(result.status, result.stderr).toBe(0);
    expect((JSON.parse(result.stdout) as Seen).node).toBe(process.execPath);
  });

  it("says in one hclog line that no node was found, naming PATH and PLEXUM_NODE_PATH", () => {
    const path = `${dateOnly}:/no such "dir"\\here`;
    const result = run({ PATH: path });
    expect(result.status).toBe(1);
    expect(result.stdout).toBe("");
    const message = errorLine(result.stderr)["@message"];
    expect(message).toContain(`${tool}: no node found`);
    expect(message).toContain(path);
    expect(message).toContain("PLEXUM_NODE_PATH");
  });

  it("refuses a PLEXUM_NODE_PATH that is not an executable file instead of guessing", () => {
    const result = run({
      PATH: `${nodeDir("fallback")}:${dateOnly}`,
      PLEXUM_NODE_PATH: join(root, "missing"),
    });
    expect(result.status).toBe(1);
    expect(result.stdout).toBe("");
    expect(errorLine(result.stderr)["@message"]).toContain(
      `PLEXUM_NODE_PATH=${join(root, "missing")} is not an executable file`,
    );
  });

  it("stops a node older than 20.17 before anything else runs, saying which and what to do", () => {
    // A real node that reports 18.19.0, as an old distribution node would.
    const pretend = join(root, "pretend-18.cjs");
    writeFileSync(
      pretend,
      'Object.defineProperty(process, "versions", { value: { ...process.versions, node: "18.19.0" } });\n' +
        'Object.defineProperty(process, "version", { value: "v18.19.0" });\n',
    );
    const oldNode = join(root, "old-node");
    writeFileSync(oldNode, `#!/bin/sh\nexec "${process.execPath}" --require "${pretend}" "$@"\n`);
    chmodSync(oldNode, 0o755);
    const result = run({ PATH: dateOnly, PLEXUM_NODE_PATH: oldNode });
    expect(result.status).toBe(1);
    expect(result.stdout).toBe("");
    const message = errorLine(result.stderr)["@message"];
    expect(message).toContain(`node v18.19.0 at ${process.execPath} is too old`);
    expect(message).toContain("20.17");
    expect(message).toContain("PLEXUM_NODE_PATH");
  });
});
