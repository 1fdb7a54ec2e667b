// The SDK as a package a stranger installs: `npm pack` of packages/go-plugin, installed into an
// empty project outside the repository, type-checked from its .d.ts files, and its example plugin
// loaded by the real go-plugin host in test/go-host (v1.0.1, as Debian packages it). The npm
// registry is the only network this needs; the pack's dependencies come from npm's cache when
// `npm ci` has filled it.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const packageDir = join(repoRoot, "packages/go-plugin");
const buildScript = join(repoRoot, "test/go-host/build.sh");
const goMissing = spawnSync(buildScript, ["--check"], { encoding: "utf8" }).status === 77;
if (goMissing) {
  console.warn("[sdk-package] SKIPPING the Go host part: run .ci/go-host-deps.sh to install Go.");
}
// The example's #! line is `/usr/bin/env node`: the node running the tests goes first on PATH.
const env = {
  ...process.env,
  PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ""}`,
};

let work = "";
let project = "";

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), "sdk-package-"));
  project = join(work, "project");
  // prepack builds dist/ (ESM + .d.ts) from src/.
  execFileSync("npm", ["pack", "--silent", "--pack-destination", work], {
    cwd: packageDir,
    env,
    stdio: ["ignore", "ignore", "inherit"],
  });
  const tarball = readdirSync(work).find((name) => name.endsWith(".tgz"));
  if (tarball === undefined) throw new Error(`npm pack left no tarball in ${work}`);
  execFileSync("mkdir", ["-p", project]);
  writeFileSync(
    join(project, "package.json"),
    JSON.stringify({ name: "sdk-consumer", private: true, type: "module" }),
  );
  execFileSync(
    "npm",
    [
      "install",
      "--prefer-offline",
      "--no-audit",
      "--no-fund",
      "--loglevel=error",
      join(work, tarball),
      // The example's generated code imports protobuf-es, as any user's generated code does.
      "@bufbuild/protobuf@2.13.0",
    ],
    { cwd: project, env, stdio: ["ignore", "ignore", "inherit"] },
  );
}, 180_000);
afterAll(() => {
  if (work !== "") rmSync(work, { recursive: true, force: true });
});

describe("the packed SDK", () => {
  it("ships ESM with type declarations and only the public API", async () => {
    const installed = join(project, "node_modules/plexum-go-plugin");
    expect(existsSync(join(installed, "dist/index.d.ts"))).toBe(true);
    expect(existsSync(join(installed, "dist/gen/plexum"))).toBe(false);
    expect(existsSync(join(installed, "example/greeter-plugin.mjs"))).toBe(true);
    const check = join(project, "check.mjs");
    writeFileSync(
      check,
      'console.log(JSON.stringify(Object.keys(await import("plexum-go-plugin")).sort()));\n',
    );
    const exported = JSON.parse(
      execFileSync(process.execPath, [check], { cwd: project, encoding: "utf8" }),
    ) as string[];
    expect(exported).toEqual([
      "PluginError",
      "createHclogLogger",
      "createServiceClient",
      "implementService",
      "isPluginError",
      "launchPlugin",
      "servePlugin",
    ]);
    // A TypeScript consumer type-checks against the shipped declarations.
    writeFileSync(
      join(project, "consumer.ts"),
      [
        'import { type GrpcBroker, servePlugin, type ServePluginResult } from "plexum-go-plugin";',
        "const start: () => Promise<ServePluginResult> = () =>",
        '  servePlugin({ handshake: { cookieKey: "K", cookieValue: "v", appProtocolVersions: [1] } });',
        "export const broker = async (): Promise<GrpcBroker> => (await start()).broker;",
        "",
      ].join("\n"),
    );
    const tsc = spawnSync(
      process.execPath,
      [
        join(repoRoot, "node_modules/typescript/bin/tsc"),
        "--noEmit",
        "--strict",
        "--module",
        "nodenext",
        "--moduleResolution",
        "nodenext",
        "--target",
        "es2022",
        "--types",
        "node",
        "--typeRoots",
        join(repoRoot, "node_modules/@types"),
        "consumer.ts",
      ],
      { cwd: project, encoding: "utf8" },
    );
    expect(tsc.stdout + tsc.stderr).toBe("");
    expect(tsc.status).toBe(0);
  });

  it("launches its example plugin from Node (the example host)", () => {
    const host = join(project, "node_modules/plexum-go-plugin/example/greeter-host.mjs");
    const out = execFileSync(process.execPath, [host, "package"], {
      cwd: project,
      env,
      encoding: "utf8",
      timeout: 30_000,
    });
    expect(out).toBe("hello, package\n");
  });

  it.skipIf(goMissing)(
    "serves its example plugin to the real go-plugin v1.0.1 host",
    () => {
      const hostBin = join(work, "go-host");
      execFileSync(buildScript, [hostBin], { stdio: ["ignore", "ignore", "inherit"] });
      const plugin = join(project, "node_modules/plexum-go-plugin/example/greeter-plugin.mjs");
      const run = spawnSync(
        hostBin,
        [
          "-plugin",
          plugin,
          "-cookie-key",
          "GREETER_PLUGIN_COOKIE",
          "-cookie-value",
          "hello-from-node",
          "-greet",
          "go-host",
        ],
        { cwd: project, env: { ...env, TMPDIR: work }, encoding: "utf8", timeout: 90_000 },
      );
      const summary = JSON.parse(run.stdout.trim().split("\n").at(-1) ?? "{}") as Record<
        string,
        unknown
      >;
      expect(summary, run.stderr.slice(-3000)).toMatchObject({
        ok: true,
        ping: "ok",
        health_status: "SERVING",
        greet: "hello, go-host",
        killed: false,
        exit_code: 0,
      });
      expect(run.status).toBe(0);
    },
    120_000,
  );
});
