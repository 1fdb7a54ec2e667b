// P1: spawn → go-plugin handshake line of the built plugin, on the node that runs this benchmark
// (PLEXUM_NODE_PATH), next to reference points measured in the same rounds (this machine is
// shared, so only figures from one run compare): `node -e 0`, node booting and printing a line, the
// least a grpc-js plugin can do (min-grpc-plugin.mjs), the plugin as a plain esbuild bundle without
// the fast-start packing (scripts/fast-start.mjs), the fast start without its code cache (a first
// start), and on Node 22.8+ the plain bundle under Node's own compile cache. Each round runs every
// candidate once, in a rotating order. CPU time is the plugin's own (every
// thread, from /proc/<pid>/task/*/schedstat) up to the handshake, which load on the machine
// inflates far less than wall time. Then a real go-plugin v1.0.1 host (test/go-host) times its
// client.Start() against the plugin, with and without AutoMTLS.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

import { PLEXUM_HANDSHAKE } from "../../internal/provider/plugin-identity.js";
import { generateAutoMtlsCertificate } from "../../src/plugin/auto-mtls.js";
import { BENCH_PLUGIN } from "./bench-plugin.js";
import { cpuMs, loadAverage } from "./proc.js";
import { type BenchRow, report, row, runs } from "./report.js";

const PLUGIN = BENCH_PLUGIN;
const PLAIN_DIR = resolve("node_modules/.cache/plexum-bench/plain-bundle");
const PLAIN = join(PLAIN_DIR, "plexum-openai-provider-plugin");
const MIN_PLUGIN = resolve("scripts/bench/min-grpc-plugin.mjs");
const GOAL_MS = 120;

interface Candidate {
  name: string;
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  /** "line": until the first stdout line (the handshake); "exit": until the process exits. */
  until: "line" | "exit";
  wall: number[];
  cpu: number[];
}

interface Sample {
  wallMs: number;
  cpuMs: number;
  line: string;
}

function baseEnv(root: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of Object.keys(env)) {
    if (name.startsWith("PLUGIN_") || name.startsWith("PLEXUM_") || name === "NODE_OPTIONS") {
      delete env[name];
    }
  }
  return {
    ...env,
    [PLEXUM_HANDSHAKE.cookieKey]: PLEXUM_HANDSHAKE.cookieValue,
    PLUGIN_PROTOCOL_VERSIONS: "1",
    PLUGIN_MIN_PORT: "10000",
    PLUGIN_MAX_PORT: "25000",
    PLUGIN_UNIX_SOCKET_DIR: root,
    // The plugin prepares its default state dir right after the handshake; keep it out of $HOME.
    XDG_STATE_HOME: join(root, "state"),
    PLEXUM_LOG_LEVEL: "warn",
    // The plugin runs on this benchmark's node, with a code cache of its own.
    PLEXUM_NODE_PATH: process.execPath,
    PLEXUM_CODE_CACHE: join(root, "code-cache"),
  };
}

/** Runs `command` for `ms` (past the code cache's write), then stops it. */
function runFor(command: string, args: string[], env: NodeJS.ProcessEnv, ms: number): void {
  const run = spawnSync(command, args, {
    env,
    timeout: ms,
    killSignal: "SIGTERM",
    stdio: "ignore",
  });
  if (run.error !== undefined && (run.error as { code?: string }).code !== "ETIMEDOUT") {
    throw run.error;
  }
}

// Node 22.8+: the plain bundle required by a loader that turns on Node's compile cache, which the
// fast-start loader's own code cache is measured against (docs/benchmarks.md, P1).
const COMPILE_CACHE_LOADER = `"use strict";
const m = require("node:module");
m.enableCompileCache(process.env.BENCH_COMPILE_CACHE);
if (process.env.BENCH_FLUSH === "1") setTimeout(() => m.flushCompileCache(), 1000).unref();
require("./plexum-openai-provider-plugin");
`;

function measureOnce(candidate: Candidate, env: NodeJS.ProcessEnv): Promise<Sample> {
  return new Promise((resolvePromise, reject) => {
    const started = performance.now();
    const child = spawn(candidate.command, candidate.args, {
      env: { ...env, ...candidate.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    let sample: Sample | undefined;
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      if (stderr.length < 10_000) stderr += chunk;
    });
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk;
      if (candidate.until === "line" && sample === undefined && stdout.includes("\n")) {
        const wallMs = performance.now() - started;
        sample = { wallMs, cpuMs: cpuMs(child.pid ?? 0), line: stdout.split("\n")[0] ?? "" };
        child.kill("SIGKILL");
      }
    });
    child.on("error", reject);
    child.on("exit", (code) => {
      if (candidate.until === "exit") {
        sample = { wallMs: performance.now() - started, cpuMs: Number.NaN, line: "" };
        if (code !== 0) reject(new Error(`${candidate.name} exited ${code}: ${stderr}`));
      }
      if (sample === undefined) {
        reject(new Error(`${candidate.name} exited (${code}) before a handshake: ${stderr}`));
      } else {
        resolvePromise(sample);
      }
    });
  });
}

function fastStartTrace(env: NodeJS.ProcessEnv): string {
  const run = spawnSync(PLUGIN, ["--version"], {
    env: { ...env, PLEXUM_FAST_START_TRACE: "1" },
    encoding: "utf8",
  });
  const line = run.stderr.split("\n").find((text) => text.includes('"fast start"'));
  if (line === undefined) return "no fast-start trace (a plain bundle?)";
  return (JSON.parse(line) as { code_cache: string }).code_cache;
}

interface GoHostSummary {
  ok: boolean;
  error?: string;
  timings?: { start_ms: number };
}

// A real go-plugin v1.0.1 host's client.Start(): spawn → handshake → gRPC connection up.
function goHostStarts(hostBin: string, autoMtls: boolean, count: number, root: string): number[] {
  const times: number[] = [];
  for (let i = 0; i < count; i += 1) {
    const run = spawnSync(hostBin, ["-plugin", PLUGIN, ...(autoMtls ? ["-automtls"] : [])], {
      env: {
        ...process.env,
        TMPDIR: root,
        XDG_STATE_HOME: join(root, "state"),
        PLEXUM_NODE_PATH: process.execPath,
        PLEXUM_CODE_CACHE: join(root, "code-cache"),
      },
      encoding: "utf8",
      timeout: 60_000,
    });
    const last = run.stdout.trim().split("\n").at(-1) ?? "";
    const summary = JSON.parse(last === "" ? "{}" : last) as GoHostSummary;
    if (summary.ok !== true || summary.timings === undefined) {
      throw new Error(`go-host failed: ${summary.error ?? run.stderr.slice(-2000)}`);
    }
    times.push(summary.timings.start_ms);
  }
  return times;
}

async function main(): Promise<void> {
  if (!existsSync(PLUGIN)) throw new Error(`${PLUGIN} is missing: run \`npm run build\` first`);
  // The same sources without the fast-start packing: the "before" next to the "after".
  const plainBuild = spawnSync(
    process.execPath,
    ["scripts/build.mjs", "--outdir", PLAIN_DIR, "--no-fast-start"],
    { encoding: "utf8" },
  );
  if (plainBuild.status !== 0) throw new Error(`plain build failed: ${plainBuild.stderr}`);

  const root = await mkdtemp(join(tmpdir(), "plexum-bench-p1-"));
  await mkdir(join(root, "state"));
  const env = baseEnv(root);
  const host = await generateAutoMtlsCertificate();
  // The code cache is written a second after a start; the rounds below stop at the handshake.
  runFor(PLUGIN, [], env, 2500);
  const hasCompileCache =
    typeof (createRequire(import.meta.url)("node:module") as { enableCompileCache?: unknown })
      .enableCompileCache === "function";
  const compileCacheLoader = join(PLAIN_DIR, "compile-cache.cjs");
  const compileCacheEnv = { BENCH_COMPILE_CACHE: join(root, "node-compile-cache") };
  if (hasCompileCache) {
    await writeFile(compileCacheLoader, COMPILE_CACHE_LOADER);
    runFor(
      process.execPath,
      [compileCacheLoader],
      { ...env, ...compileCacheEnv, BENCH_FLUSH: "1" },
      2500,
    );
  }
  const candidates: Candidate[] = [
    { name: "node -e 0 (spawn → exit)", command: process.execPath, args: ["-e", "0"] },
    {
      name: "node: boot and print a line",
      command: process.execPath,
      args: ["-e", 'process.stdout.write("x\\n"); setInterval(() => {}, 1000)'],
    },
    { name: "minimal grpc-js plugin (unbundled)", command: process.execPath, args: [MIN_PLUGIN] },
    { name: "plugin, plain esbuild bundle", command: PLAIN, args: [] },
    {
      name: "plugin, fast start without its code cache (a first start)",
      command: PLUGIN,
      args: [],
      env: { PLEXUM_CODE_CACHE: "off" },
    },
    ...(hasCompileCache
      ? [
          {
            name: "plugin, plain bundle under Node's compile cache",
            command: process.execPath,
            args: [compileCacheLoader],
            env: compileCacheEnv,
          },
        ]
      : []),
    { name: "plugin (dist, fast start)", command: PLUGIN, args: [] },
    {
      name: "plugin (dist, fast start), AutoMTLS",
      command: PLUGIN,
      args: [],
      env: { PLUGIN_CLIENT_CERT: host.certPem },
    },
  ].map((c) => ({ ...c, until: c.name.includes("→ exit") ? "exit" : "line", wall: [], cpu: [] }));

  const rounds = runs(20);
  const loadBefore = loadAverage();
  try {
    for (let round = 0; round < rounds; round += 1) {
      for (let i = 0; i < candidates.length; i += 1) {
        const candidate = candidates[(round + i) % candidates.length] as Candidate;
        const sample = await measureOnce(candidate, env);
        if (candidate.until === "line" && candidate.args[0] !== "-e") {
          if (!/^1\|1\|(unix|tcp)\|/.test(sample.line)) {
            throw new Error(
              `${candidate.name}: unexpected handshake ${JSON.stringify(sample.line)}`,
            );
          }
        }
        candidate.wall.push(sample.wallMs);
        candidate.cpu.push(sample.cpuMs);
      }
    }
    const loadAfter = loadAverage();
    const rows: BenchRow[] = [];
    for (const c of candidates) {
      const isPlugin = c.command === PLUGIN && c.env === undefined;
      rows.push(
        row(
          `${c.name}: wall`,
          "ms",
          c.wall,
          isPlugin ? { goal: { op: "<=", value: GOAL_MS } } : {},
        ),
      );
      if (c.until === "line") rows.push(row(`${c.name}: CPU`, "ms", c.cpu));
    }

    const notes = [
      `Node ${process.version} (${process.execPath})`,
      `${rounds} rounds, candidates interleaved; 1-minute load average ${loadBefore} before, ` +
        `${loadAfter} after, on ${spawnSync("nproc", { encoding: "utf8" }).stdout.trim()} CPUs`,
      `dist/plexum-openai-provider-plugin: ${(statSync(PLUGIN).size / 1e6).toFixed(2)} MB, V8 code ` +
        `cache ${fastStartTrace(env)}; plain bundle: ${(statSync(PLAIN).size / 1e6).toFixed(2)} MB`,
    ];

    const goHost = join(root, "go-host");
    const goBuild = spawnSync("test/go-host/build.sh", [goHost], { encoding: "utf8" });
    if (goBuild.status === 0) {
      const count = runs(10);
      rows.push(
        row(
          "go-plugin v1.0.1 host: client.Start()",
          "ms",
          goHostStarts(goHost, false, count, root),
        ),
        row(
          "go-plugin v1.0.1 host: client.Start(), AutoMTLS",
          "ms",
          goHostStarts(goHost, true, count, root),
        ),
      );
      notes.push(
        "client.Start() is go-plugin's own timing (test/go-host): spawn, handshake, gRPC dial",
      );
    } else {
      notes.push(
        `go-plugin host rows skipped: test/go-host/build.sh exited ${goBuild.status} ` +
          `(${goBuild.stderr.trim().split("\n").at(-1) ?? ""})`,
      );
    }
    report({ id: "P1", title: "spawn → handshake", rows, notes });
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

await main();
