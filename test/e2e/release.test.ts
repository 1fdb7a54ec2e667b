// The release, installed the way the README's Install section says: `npm run release`'s tarball
// (scripts/release.mjs, packing the built dist/), then the README's own shell blocks run from an
// empty directory outside the repository, with /opt/plexum, /etc/plexum, /tmp/plexum-try and npm's
// global prefix moved into a temp dir. The installed dev host then drives one turn through the
// installed plugin (the real handshake) and the real codex (`binary`: the one the README installs,
// or CODEX_BIN) against the mock model. Nothing of the checkout is on the installed side's PATH.
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, delimiter, join, resolve } from "node:path";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { globalNativeBinaryPath } from "../../internal/codex/binary.js";
import { TESTED_CODEX_VERSIONS } from "../../internal/codex/codex-version.js";
import { textReply } from "../../internal/mock-model/reply-builders.js";
import {
  type ResponsesServer,
  startResponsesServer,
} from "../../internal/mock-model/responses-server.js";
import { assertPluginBuilt } from "../helpers/plugin-harness.js";
import { createTempDirs } from "../helpers/temp-dirs.js";

const dirs = createTempDirs();
let server: ResponsesServer | undefined;
afterAll(async () => {
  await server?.close();
  await dirs.removeAll();
});

const README = readFileSync("README.md", "utf8");
const REPLY = "Hello from the mock model, through an installed plugin.";
const EXPECTED_FILES = [
  "LICENSE",
  "README.md",
  "THIRD_PARTY_NOTICES.md",
  "bin/plexum-dev-host",
  "bin/plexum-dev-host.map",
  "bin/plexum-openai-provider-plugin",
  "bin/plexum-openai-provider-plugin.map",
  "package.json",
];

/** The ```sh blocks of the README's "### Steps", under "## Install", in order. */
function installSteps(): string[] {
  const install = README.slice(README.indexOf("\n## Install\n"));
  const steps = install.slice(install.indexOf("\n### Steps\n"));
  const section = steps.slice(0, steps.indexOf("\n### ", 1));
  return [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((match) => match[1] ?? "");
}

/** The environment of the installed side: no PLEXUM_* of ours, no node_modules/.bin on PATH. */
function operatorEnv(extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!name.startsWith("PLEXUM_") && !name.startsWith("npm_") && name !== "CODEX_HOME") {
      env[name] = value;
    }
  }
  env["PATH"] = (process.env["PATH"] ?? "")
    .split(delimiter)
    .filter((dir) => !dir.includes("node_modules"))
    .join(delimiter);
  return { ...env, ...extra };
}

function runSh(script: string, cwd: string, env: NodeJS.ProcessEnv) {
  return new Promise<{ status: number | null; stdout: string; stderr: string }>((done) => {
    const child = spawn("sh", ["-euc", script], { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    child.on("close", (status) => done({ status, stdout, stderr }));
  });
}

describe("the release tarball", () => {
  let root: string;
  let tarball: string;

  beforeAll(async () => {
    assertPluginBuilt();
    root = await dirs.make("release");
    const packed = spawnSync(
      process.execPath,
      ["scripts/release.mjs", "--outdir", join(root, "out")],
      { encoding: "utf8" },
    );
    expect(packed.status, packed.stderr).toBe(0);
    tarball = packed.stdout.split("\n")[0] ?? "";
  }, 120_000);

  it("holds the executables, their maps, LICENSE, the notices and the README, and nothing else", () => {
    const listing = execFileSync("tar", ["-tzf", tarball], { encoding: "utf8" })
      .trim()
      .split("\n")
      .map((line) => line.replace(/^package\//, ""))
      .sort();
    expect(listing).toEqual(EXPECTED_FILES);
    const manifest = JSON.parse(
      execFileSync("tar", ["-xzOf", tarball, "package/package.json"], { encoding: "utf8" }),
    ) as Record<string, unknown>;
    const repo = JSON.parse(readFileSync("package.json", "utf8")) as Record<string, unknown>;
    expect(manifest).toMatchObject({
      name: "plexum-openai-provider-plugin",
      version: repo["version"],
      license: "Apache-2.0",
      os: ["linux"],
      engines: repo["engines"],
      bin: {
        "plexum-openai-provider-plugin": "bin/plexum-openai-provider-plugin",
        "plexum-dev-host": "bin/plexum-dev-host",
      },
    });
    // The executables bundle their dependencies.
    expect(manifest).not.toHaveProperty("dependencies");
    const license = execFileSync("tar", ["-xzOf", tarball, "package/LICENSE"], {
      encoding: "utf8",
    });
    expect(license).toContain("Apache License\n                           Version 2.0");
  });

  it("installs as the README says into an empty directory and runs a turn from there", async () => {
    const steps = installSteps();
    expect(steps, "the README's Install > Steps blocks").toHaveLength(3);
    // The README names this release and the codex the plugin pins, one of the tested releases.
    expect(steps[0]).toContain(basename(tarball));
    const pinned = (
      JSON.parse(readFileSync("package.json", "utf8")) as {
        dependencies: Record<string, string>;
      }
    ).dependencies["@openai/codex"];
    expect(TESTED_CODEX_VERSIONS).toContain(pinned);
    expect(steps[1]).toContain(`npm install -g @openai/codex@${pinned}`);

    const moved = (text: string) =>
      text
        .replaceAll("/opt/plexum", join(root, "opt/plexum"))
        .replaceAll("/etc/plexum", join(root, "etc/plexum"))
        .replaceAll("/tmp/plexum-try", join(root, "try"));
    const work = join(root, "work");
    mkdirSync(work);
    copyFileSync(tarball, join(work, basename(tarball)));
    const env = operatorEnv({
      npm_config_prefix: join(root, "npm-global"),
      // The tarballs `npm ci` fetched are in npm's cache; the registry is asked only if not.
      npm_config_prefer_offline: "true",
      npm_config_audit: "false",
      npm_config_fund: "false",
      npm_config_update_notifier: "false",
    });

    const plugin = await runSh(moved(steps[0] ?? ""), work, env);
    expect(plugin.status, plugin.stderr).toBe(0);
    expect(plugin.stdout).toContain("plexum-openai-provider-plugin 0.1.0");

    const codexPathFile = join(root, "codex-path");
    const codex = await runSh(
      `${moved(steps[1] ?? "")}\nprintf '%s' "$CODEX" > '${codexPathFile}'\n`,
      work,
      env,
    );
    expect(codex.status, codex.stderr).toBe(0);
    expect(codex.stdout).toContain(`codex-cli ${pinned}`);
    const installedCodex = readFileSync(codexPathFile, "utf8");
    // The README's path is where the plugin's own install hint says it is.
    const npmRoot = execFileSync("npm", ["root", "-g"], { env, encoding: "utf8" }).trim();
    expect(installedCodex).toBe(globalNativeBinaryPath(npmRoot));
    expect(existsSync(installedCodex)).toBe(true);

    server = await startResponsesServer({ script: () => textReply(REPLY) });
    const codexHome = join(root, "codex-home");
    mkdirSync(codexHome);
    const pluginPath = join(root, "opt/plexum/openai-provider/bin/plexum-openai-provider-plugin");
    const binary = process.env["CODEX_BIN"] || installedCodex;
    mkdirSync(join(root, "etc/plexum"), { recursive: true });
    writeFileSync(
      join(root, "etc/plexum/config.json"),
      JSON.stringify({
        providers: [
          {
            name: "openai-codex",
            path: pluginPath,
            config: {
              binary,
              state_dir: join(root, "state"),
              codex_home: codexHome,
              endpoint: { base_url: server.url },
              // Keeps codex offline apart from the mock (docs/codex-0.169.0-observed.md §0).
              config_overrides: {
                analytics: { enabled: false },
                features: { plugins: false },
                check_for_update_on_startup: false,
              },
            },
          },
        ],
      }),
    );

    const tried = await runSh(moved(steps[2] ?? ""), work, env);
    const output = `${tried.stdout}\n${tried.stderr}`;
    expect(tried.status, output).toBe(0);
    // doctor passed (warnings allowed) ...
    expect(tried.stdout).toMatch(/^All checks passed/m);
    expect(tried.stdout).toMatch(/^OK {4}codex: .* \(config\), codex-cli/m);
    // ... and the dev host ran the installed plugin, which ran the configured codex.
    expect(tried.stdout).toContain(`at ${resolve(binary)} (config)`);
    expect(tried.stdout).toContain(REPLY);
    expect(server.requests.filter((request) => request.path === "/v1/responses")).toHaveLength(1);
  }, 300_000);
});
