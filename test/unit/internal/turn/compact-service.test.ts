// CompactThread's service with a fake compactor: the codex run it plans (the same home, overrides,
// endpoint environment and model as the agent's turns), the slot it holds (turns refused meanwhile,
// refused itself while a turn runs), typed errors, secrets kept out of messages, and shutdown.
import { afterEach, beforeEach, describe, expect, it } from "vitest";

import type { CodexBinaryStatus } from "../../../../internal/codex/binary.js";
import { parseConfig } from "../../../../internal/config/load-config.js";
import { type AgentId, parseAgentId } from "../../../../internal/core/agent-id.js";
import { AppError } from "../../../../internal/core/app-error.js";
import { emptyUsage } from "../../../../internal/core/usage.js";
import { ThreadStore } from "../../../../internal/store/thread-store.js";
import { AgentSlots } from "../../../../internal/turn/agent-slots.js";
import { CompactService } from "../../../../internal/turn/compact-service.js";
import type {
  CompactionResult,
  CompactionRun,
  ThreadCompactor,
} from "../../../../internal/turn/thread-compactor.js";
import { silentLogger } from "../../../helpers/fake-codex.js";
import { createTempDirs } from "../../../helpers/temp-dirs.js";

const THREAD = "01a23c97-e873-7082-9653-3c4bf8b52dd5";
const agent: AgentId = parseAgentId("compact-agent");
const BINARY: CodexBinaryStatus = {
  ready: true,
  path: "/opt/codex/bin/codex",
  source: "config",
  version: "0.169.0",
  degradedReason: "",
  helperPathDir: "/opt/codex/path",
  features: [],
  notes: [],
};

const temp = createTempDirs();
afterEach(() => temp.removeAll());

class FakeCompactor implements ThreadCompactor {
  readonly runs: CompactionRun[] = [];
  hold: Promise<void> = Promise.resolve();
  failWith: unknown;

  async compact(run: CompactionRun, signal: AbortSignal): Promise<CompactionResult> {
    this.runs.push(run);
    await Promise.race([
      this.hold,
      new Promise((_, reject) =>
        signal.addEventListener("abort", () => reject(new AppError("SHUTTING_DOWN", "stopped"))),
      ),
    ]);
    if (this.failWith !== undefined) throw this.failWith;
    return {
      threadId: run.threadId,
      tokensBefore: 1050,
      tokensAfter: 321,
      modelContextWindow: 258400,
      usage: emptyUsage(),
      durationMs: 5,
    };
  }
}

let stateDir: string;
let store: ThreadStore;
let slots: AgentSlots;
let compactor: FakeCompactor;

beforeEach(async () => {
  stateDir = await temp.make("state");
  store = new ThreadStore(stateDir);
  slots = new AgentSlots();
  compactor = new FakeCompactor();
});

function service(config: Record<string, unknown> = {}, env: NodeJS.ProcessEnv = {}) {
  const { config: parsed } = parseConfig(
    {
      state_dir: stateDir,
      supported_models: ["codex", "big"],
      model_args: { big: "gpt-big" },
      ...config,
    },
    { env },
  );
  return new CompactService({
    config: parsed,
    slots,
    store,
    compactor,
    binary: () => Promise.resolve(BINARY),
    env,
    logger: silentLogger,
  });
}

async function storeThread(confirmed = true): Promise<void> {
  await store.save(agent, { thread_id: THREAD, usage_baseline: emptyUsage(), confirmed });
}

describe("CompactService", () => {
  it("plans the run as the agent's turns get it and answers codex's figures", async () => {
    await storeThread();
    const result = await service({
      config_overrides: { hide_agent_reasoning: true },
      reasoning_effort: "high",
    }).compact(agent, "big");
    expect(result).toMatchObject({
      threadId: THREAD,
      tokensBefore: 1050,
      tokensAfter: 321,
      modelId: "big",
    });
    const run = compactor.runs[0]!;
    expect(run).toMatchObject({
      agentId: agent,
      threadId: THREAD,
      codex: { path: BINARY.path, helperPathDir: BINARY.helperPathDir },
      cwd: store.agentDir(agent),
      cliModel: "gpt-big",
    });
    expect(run.configOverrides).toEqual(
      expect.arrayContaining(["hide_agent_reasoning=true", 'model_reasoning_effort="high"']),
    );
    // The slot is free again.
    expect(slots.isExclusive(agent)).toBe(false);
  });

  it("passes an endpoint's key only through the environment, and keeps it out of errors", async () => {
    await storeThread();
    const key = "sk-test-secret-123456";
    compactor.failWith = new AppError("COMPACTION_FAILED", `codex said: bad key ${key}`);
    const compact = service(
      { endpoint: { base_url: "http://127.0.0.1:9/v1", api_key_env: "MY_KEY", model: "qwen" } },
      { MY_KEY: key },
    );
    const error = await compact.compact(agent, "").catch((thrown: unknown) => thrown);
    expect(error).toMatchObject({ code: "COMPACTION_FAILED" });
    expect((error as Error).message).not.toContain(key);
    const run = compactor.runs[0]!;
    expect(JSON.stringify(run.configOverrides)).not.toContain(key);
    expect(Object.values(run.env.set)).toContain(key);
  });

  it("refuses without a thread (NOT_FOUND), with a thread no turn finished, and unknown models", async () => {
    await expect(service().compact(agent, "")).rejects.toMatchObject({ code: "THREAD_NOT_FOUND" });
    await storeThread(false);
    await expect(service().compact(agent, "")).rejects.toMatchObject({ code: "THREAD_NOT_FOUND" });
    await expect(service().compact(agent, "nope")).rejects.toMatchObject({
      code: "REQUEST_INVALID",
    });
    expect(compactor.runs).toEqual([]);
  });

  it("is refused while a turn runs, and refuses turns while it runs", async () => {
    await storeThread();
    const turn = slots.beginTurn(agent);
    await expect(service().compact(agent, "")).rejects.toMatchObject({ code: "AGENT_BUSY" });
    turn.release();

    let release!: () => void;
    compactor.hold = new Promise((resolve) => (release = resolve));
    const compaction = service().compact(agent, "");
    await vitestWaitFor(() => compactor.runs.length === 1);
    expect(() => slots.beginTurn(agent)).toThrow(/compaction/);
    await expect(service().compact(agent, "")).rejects.toMatchObject({ code: "AGENT_BUSY" });
    release();
    await compaction;
    slots.beginTurn(agent).release();
  });

  it("is cancelled by shutdown through the slot", async () => {
    await storeThread();
    compactor.hold = new Promise(() => undefined);
    const compaction = service()
      .compact(agent, "")
      .catch((thrown: unknown) => thrown);
    await vitestWaitFor(() => compactor.runs.length === 1);
    await slots.close({ kind: "shutdown", message: "plugin shutting down" }, 1000);
    expect(await compaction).toMatchObject({ code: "SHUTTING_DOWN" });
  });
});

async function vitestWaitFor(check: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !check(); i += 1) await new Promise((r) => setTimeout(r, 5));
  expect(check()).toBe(true);
}
