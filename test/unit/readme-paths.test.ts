// Holds every path the README documents against the code that makes it: each `<state_dir>/…`,
// `$TMPDIR/…` and `$CODEX_HOME/…` path in the README must be one of the patterns below, and each
// pattern, with its placeholders filled in, must match the path the code produces.
import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

import { build } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { codexHomeForAgent } from "../../internal/codex/agent-codex-home.js";
import { parseConfig } from "../../internal/config/load-config.js";
import { agentDirName, parseAgentId } from "../../internal/core/agent-id.js";
import { agentSocketPath } from "../../internal/mcp/socket-path.js";
import { ProcessLedger } from "../../internal/proc/process-ledger.js";
import { isRolloutFileOf, sessionDayDirs } from "../../internal/rollout/rollout-locator.js";
import { writerLockPath } from "../../internal/rollout/writer-lock.js";
import { ThreadStore } from "../../internal/store/thread-store.js";
import { UsageStore } from "../../internal/store/usage-store.js";
import { agentPath, sweepStaleScratch } from "../../internal/turn/turn-setup.js";
import { packFastStart } from "../../scripts/fast-start.mjs";
import { launcherHeader } from "../../scripts/launcher.mjs";
import { createTempDirs } from "../helpers/temp-dirs.js";

const README = readFileSync("README.md", "utf8");
const dirs = createTempDirs();
afterAll(() => dirs.removeAll());

// An agent id that needs every rule of the directory name: characters outside [A-Za-z0-9_-],
// leading and trailing ones to drop.
const AGENT = parseAgentId("-Bob's agent #7/x?-".replace("/", ""));
const THREAD = "019a0000-0000-7000-8000-000000000001";
const ZERO = {
  input_tokens: 0,
  cached_input_tokens: 0,
  cache_write_input_tokens: 0,
  output_tokens: 0,
  reasoning_output_tokens: 0,
};

/** Every path of ours the README mentions, as written. */
function documentedPaths(): string[] {
  const found = new Set<string>();
  for (const [, span] of README.matchAll(/`([^`\n]+)`/g)) {
    for (const [path] of (span ?? "").matchAll(
      /(?:<state_dir>|\bstate_dir|\$TMPDIR|\$CODEX_HOME)\/(?:<[^>]*>|[^\s,)<])*/g,
    )) {
      found.add(path);
    }
  }
  return [...found].sort();
}

interface Sample {
  stateDir: string;
  tmp: string;
  codexHome: string;
}

/** The README's placeholders, filled in for the sample; `*` and unknowable parts match anything. */
function toRegExp(pattern: string, sample: Sample): RegExp {
  const values: Record<string, string> = {
    "<state_dir>": sample.stateDir,
    $TMPDIR: sample.tmp,
    $CODEX_HOME: sample.codexHome,
    "<agent dir>": agentDirName(AGENT),
    "<uid>": String(process.getuid?.()),
    "<thread_id>": THREAD,
  };
  let source = "";
  let rest = pattern;
  outer: while (rest !== "") {
    for (const [name, value] of Object.entries(values)) {
      if (rest.startsWith(name)) {
        source += value.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
        rest = rest.slice(name.length);
        continue outer;
      }
    }
    const placeholder = /^<[^>]+>|^YYYY|^MM|^DD/.exec(rest)?.[0];
    if (placeholder !== undefined) {
      source += placeholder.startsWith("<") ? "[^/]+" : "\\d+";
      rest = rest.slice(placeholder.length);
    } else if (rest.startsWith("*")) {
      source += "[^/]*";
      rest = rest.slice(1);
    } else {
      source += (rest[0] ?? "").replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
      rest = rest.slice(1);
    }
  }
  return new RegExp(`^${source}/?$`);
}

describe("the paths the README documents", () => {
  let sample: Sample;
  /** The path the code makes, for each pattern the README may use. */
  let made: Record<string, () => Promise<string> | string>;

  beforeAll(async () => {
    const root = await dirs.make("readme-paths");
    sample = {
      stateDir: join(root, "state"),
      tmp: join(root, "tmp"),
      codexHome: join(root, "codex-home"),
    };
    mkdirSync(sample.tmp);
    const config = parseConfig({ state_dir: sample.stateDir }, { env: {} }).config;
    const socketOptions = { stateDir: sample.stateDir, fallbackBase: sample.tmp };
    made = {
      "<state_dir>/agents/<agent dir>/thread.json": async () => {
        const store = new ThreadStore(sample.stateDir);
        await store.save(AGENT, { thread_id: THREAD, usage_baseline: ZERO, confirmed: true });
        return only(store.agentDir(AGENT), "thread.json");
      },
      "<state_dir>/agents/<agent dir>/usage.json": async () => {
        await new UsageStore(sample.stateDir).recordTurn(AGENT, THREAD, ZERO);
        return only(join(sample.stateDir, "agents", agentDirName(AGENT)), "usage.json");
      },
      "<state_dir>/agents/<agent dir>/codex-home": () =>
        codexHomeForAgent({ ...config, perAgentCodexHome: true }, AGENT, {}),
      "<state_dir>/agents/<agent dir>/worktree": () =>
        agentPath(sample.stateDir, AGENT, "worktree"),
      "<state_dir>/processes/<pid>-<start_time>.json": () => {
        const ledger = new ProcessLedger(sample.stateDir);
        const accounting = ledger.track({ agentId: AGENT });
        accounting.spawned(process.pid, "marker");
        const [record] = readdirSync(ledger.dir);
        accounting.reaped();
        return join(ledger.dir, record ?? "(none written)");
      },
      "<state_dir>/mcp": () => join(agentSocketPath(AGENT, socketOptions), ".."),
      "<state_dir>/mcp/<16 hex of sha256(agent id)>.sock": () =>
        agentSocketPath(AGENT, socketOptions),
      "$TMPDIR/plexum-mcp-<uid>/<8 hex of sha256(state_dir)>-<16 hex of sha256(agent id)>.sock":
        () => agentSocketPath(AGENT, { ...socketOptions, stateDir: join(root, "x".repeat(120)) }),
      "$TMPDIR/plexum-turn-<pid>-*": async () => {
        // The scratch sweep removes exactly the directories this pattern names, for dead pids.
        const dead = join(sample.tmp, "plexum-turn-2147483646-AbC123");
        mkdirSync(dead);
        const removed = await sweepStaleScratch(sample.tmp);
        return removed.includes(dead) && !existsSync(dead) ? dead : "(not swept)";
      },
      "$TMPDIR/plexum-openai-provider-plugin-<uid>": async () => cacheDirOfPackedPlugin(sample.tmp),
      "$CODEX_HOME/sessions/YYYY/MM/DD/rollout-*-<thread_id>.jsonl": () => {
        const [day] = sessionDayDirs(sample.codexHome, { from: Date.now(), to: Date.now() });
        const name = `rollout-2026-12-03T10-00-00-${THREAD}.jsonl`;
        expect(isRolloutFileOf(name, THREAD)).toBe(true);
        return join(day ?? "", name);
      },
      "$CODEX_HOME/thread-writer-locks/<thread_id>.lock": () =>
        writerLockPath(sample.codexHome, THREAD),
    };
  });

  it("are all known patterns, written with <state_dir> and <agent dir>", () => {
    const unknown = documentedPaths().filter(
      (path) => !(path in made) && !CODEX_ONLY.includes(path),
    );
    expect(unknown, "paths in README.md that this test does not hold against the code").toEqual([]);
  });

  it("each match the path the code makes", async () => {
    const documented = documentedPaths();
    for (const [pattern, make] of Object.entries(made)) {
      expect(documented, `README.md no longer mentions ${pattern}`).toContain(pattern);
      const path = await make();
      expect(path, pattern).toMatch(toRegExp(pattern, sample));
    }
  });

  it("name the agent directory as the README describes it, and its hash as its shell line says", () => {
    expect(agentDirName("alice")).toBe("alice-2bd806c97f0e00af");
    expect(README).toContain("Agent `alice` is `alice-2bd806c97f0e00af`");
    const line = /`(printf '%s' "\$AGENT_ID" \| sha256sum \| cut -c1-16)`/.exec(README)?.[1];
    expect(line).toBeDefined();
    const hex = execFileSync("sh", ["-c", line ?? ""], {
      env: { ...process.env, AGENT_ID: AGENT },
      encoding: "utf8",
    }).trim();
    expect(agentDirName(AGENT)).toBe(`Bob_s_agent_7x-${hex}`);
    expect(agentDirName("///".replace(/\//g, "."))).toMatch(/^agent-[0-9a-f]{16}$/);
  });
});

// Paths that are codex's own business, mentioned to explain codex's behaviour.
const CODEX_ONLY = ["$CODEX_HOME/worktrees/"];

function only(dir: string, name: string): string {
  return readdirSync(dir).includes(name) ? join(dir, name) : `(no ${name} in ${dir})`;
}

// Packs a trivial executable named like the plugin and asks its loader where the cache goes.
async function cacheDirOfPackedPlugin(tmp: string): Promise<string> {
  const dir = join(tmp, "packed");
  mkdirSync(dir);
  const file = join(dir, "plexum-openai-provider-plugin");
  const entry = join(dir, "entry.js");
  execFileSync("sh", ["-c", `printf 'void 0;\\n' > ${entry}`]);
  await build({
    entryPoints: [entry],
    outfile: file,
    bundle: true,
    platform: "node",
    format: "cjs",
    sourcemap: "linked",
    logLevel: "silent",
    banner: { js: '"use strict";' },
  });
  await packFastStart({ file, header: launcherHeader() });
  chmodSync(file, 0o755);
  const { PLEXUM_CODE_CACHE: _cache, ...env } = process.env;
  const run = spawnSync(file, ["--version"], {
    env: { ...env, TMPDIR: tmp, PLEXUM_NODE_PATH: process.execPath, PLEXUM_FAST_START_TRACE: "1" },
    encoding: "utf8",
  });
  const trace = JSON.parse(run.stderr.trim().split("\n")[0] ?? "{}") as { file?: string };
  return join(trace.file ?? "(no trace)", "..");
}
