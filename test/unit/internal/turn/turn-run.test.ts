import { existsSync, readdirSync, readFileSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";

import { describe, expect, it } from "vitest";

import { parseAgentId } from "../../../../internal/core/agent-id.js";
import type { CanonicalEvent } from "../../../../internal/core/canonical-event.js";
import { THREAD_FILE } from "../../../../internal/store/thread-store.js";
import { MAX_PROMPT_CHARS } from "../../../../internal/turn/turn-plan.js";
import type { TurnRequest } from "../../../../internal/turn/turn-request.js";
import {
  collect,
  isAlive,
  readFakeCalls,
  waitFor,
  writeFakeControl,
} from "../../../helpers/fake-codex.js";
import { runTurn } from "../../../helpers/turn-fixture.js";
import { type EventOf, only, turnEnd, useTurnFixture } from "../../../helpers/turn-fixture.js";

const UNKNOWN_THREAD = "0199a213-81c0-7800-8aa1-bbab2a0359ff";

describe("runTurn", () => {
  const fx = useTurnFixture();
  const { deps, request, run } = fx;

  async function hangPids(): Promise<{ self: number; stubborn: number; session: number }> {
    const path = join(fx.codexHome, "fake-pids.json");
    expect(
      await waitFor(() => existsSync(path) && readFileSync(path, "utf8").endsWith("}"), 5000),
    ).toBe(true);
    return JSON.parse(readFileSync(path, "utf8")) as {
      self: number;
      stubborn: number;
      session: number;
    };
  }

  it("runs a fresh turn: prompt on stdin, thread stored first, per-turn usage, one turn_end", async () => {
    const turnDeps = await deps();
    const events: CanonicalEvent[] = [];
    let storedWhenStarted: unknown;
    for await (const event of runTurn(request(), turnDeps, new AbortController().signal)) {
      if (event.kind === "turn_started")
        storedWhenStarted = await fx.store.load(parseAgentId("alice"));
      events.push(event);
    }
    expect(events.map((event) => event.kind)).toEqual([
      "notice",
      "turn_started",
      "reasoning",
      "tool",
      "tool",
      "text",
      "usage",
      "turn_end",
    ]);
    const started = only(events, "turn_started")[0];
    expect(started).toMatchObject({
      resumed: false,
      model: "",
      sandbox: "bypass",
      codexVersion: "0.169.0",
    });
    const threadId = started?.threadId ?? "";
    expect(events[0]).toEqual({ kind: "notice", notice: "thread_stored", message: threadId });
    // The id was on disk before the first item was forwarded.
    expect(storedWhenStarted).toMatchObject({
      status: "ok",
      record: { thread_id: threadId, confirmed: false },
    });

    const usage = {
      input_tokens: 10,
      cached_input_tokens: 4,
      cache_write_input_tokens: 1,
      output_tokens: 5,
      reasoning_output_tokens: 2,
    };
    expect(only(events, "usage")).toEqual([{ kind: "usage", turn: usage, thread: usage }]);
    expect(turnEnd(events)).toMatchObject({
      outcome: "completed",
      threadId,
      finalText: "prompt had 11 chars",
      usage,
      exitCode: 0,
    });
    expect(await fx.store.load(parseAgentId("alice"))).toMatchObject({
      status: "ok",
      record: { thread_id: threadId, confirmed: true, usage_baseline: usage },
    });

    const [call] = readFakeCalls(fx.codexHome);
    expect(call?.prompt).toBe("hello codex");
    expect(call?.args).not.toContain("hello codex");
    expect(call?.args).not.toContain("resume");
    expect(call?.args.at(-1)).toBe("-");
    expect(call?.cwd).toBe(fx.workspace);
    expect(call?.env).toEqual({ CODEX_HOME: fx.codexHome, RUST_BACKTRACE: null });
  });

  it("resumes the stored thread with every flag before `resume <id> -` and reports 10 then 10", async () => {
    const turnDeps = await deps("fake-codex.mjs", { sandbox: "read-only" });
    const first = await run(turnDeps, request({ prompt: "first" }));
    const second = await run(turnDeps, request({ prompt: "second prompt" }));
    const threadId = only(first, "turn_started")[0]?.threadId ?? "";

    expect(only(second, "turn_started")[0]).toMatchObject({
      threadId,
      resumed: true,
      sandbox: "read-only",
    });
    expect(only(second, "notice")).toEqual([]);
    expect(only(first, "usage")[0]?.turn.input_tokens).toBe(10);
    expect(only(second, "usage")[0]).toMatchObject({
      turn: {
        input_tokens: 10,
        cached_input_tokens: 4,
        output_tokens: 5,
        reasoning_output_tokens: 2,
      },
      thread: {
        input_tokens: 20,
        cached_input_tokens: 8,
        output_tokens: 10,
        reasoning_output_tokens: 4,
      },
    });
    expect(turnEnd(second).usage?.input_tokens).toBe(10);

    const calls = readFakeCalls(fx.codexHome);
    const args = calls[1]?.args ?? [];
    expect(calls[1]?.prompt).toBe("second prompt");
    expect(args.slice(-3)).toEqual(["resume", threadId, "-"]);
    const resumeAt = args.indexOf("resume");
    for (const flag of ["--json", "--skip-git-repo-check", "-s", "-C"]) {
      expect(args.indexOf(flag)).toBeGreaterThan(-1);
      expect(args.indexOf(flag)).toBeLessThan(resumeAt);
    }
    expect(args[args.indexOf("-s") + 1]).toBe("read-only");
  });

  it("sends a 300 KB prompt through stdin, not argv", async () => {
    const prompt = "p".repeat(300 * 1024);
    const events = await run(await deps(), request({ prompt }));
    expect(turnEnd(events)).toMatchObject({
      outcome: "completed",
      finalText: `prompt had ${prompt.length} chars`,
    });
    const [call] = readFakeCalls(fx.codexHome);
    expect(call?.prompt.length).toBe(prompt.length);
    expect(call?.args.join(" ").length).toBeLessThan(2000);
  });

  it("passes the mapped --model and the per-turn sandbox", async () => {
    const turnDeps = await deps("fake-codex.mjs", {
      supported_models: ["codex", "qwen"],
      model_args: { qwen: "qwen3-coder" },
    });
    const events = await run(
      turnDeps,
      request({ model: "qwen", options: { sandbox: "workspace-write" } }),
    );
    expect(only(events, "turn_started")[0]).toMatchObject({
      model: "qwen3-coder",
      sandbox: "workspace-write",
    });
    const args = readFakeCalls(fx.codexHome)[0]?.args ?? [];
    expect(args[args.indexOf("--model") + 1]).toBe("qwen3-coder");
    expect(args[args.indexOf("-s") + 1]).toBe("workspace-write");
    expect(args).toContain('approval_policy="never"');
  });

  it("reports a crash mid-stream with the stderr tail", async () => {
    const events = await run(await deps("fake-codex-crash.mjs"));
    expect(only(events, "text").map((event) => event.text)).toEqual(["working on it"]);
    // The half-written last line is reported, not fatal.
    expect(only(events, "notice").some((event) => event.message.includes("not JSON"))).toBe(true);
    const end = turnEnd(events);
    expect(end).toMatchObject({
      outcome: "crashed",
      exitCode: 101,
      threadId: "0199a213-81c0-7800-8aa1-bbab2a035a53",
    });
    expect(end.message).toContain("code 101");
    expect(end.stderrTail).toContain("panicked");
    expect(only(events, "error")).toHaveLength(1);
  });

  it("reports death by signal as a crash", async () => {
    await writeFakeControl(fx.codexHome, { crash: "signal" });
    const end = turnEnd(await run(await deps("fake-codex-crash.mjs")));
    expect(end).toMatchObject({ outcome: "crashed", signal: "SIGKILL" });
    expect(end.message).toContain("SIGKILL");
  });

  it("reports exit 0 without a terminal event as a crash", async () => {
    const events = await run(await deps("fake-codex-no-terminal.mjs"));
    const end = turnEnd(events);
    expect(end).toMatchObject({ outcome: "crashed", exitCode: 0, finalText: "all done?" });
    expect(end.message).toContain("without reporting turn.completed or turn.failed");
  });

  it("maps turn.failed to a typed error, drops retried duplicates and keeps retry notices as progress", async () => {
    const events = await run(await deps("fake-codex-failed.mjs"));
    expect(only(events, "text").map((event) => event.text)).toEqual(["partial answer"]);
    expect(only(events, "notice").filter((event) => event.notice === "retrying")).toHaveLength(2);
    const [error] = only(events, "error");
    expect(error?.error).toMatchObject({ class: "quota_exhausted", retryable: false });
    expect(error?.error.resetsAt).toBeInstanceOf(Date);
    expect(turnEnd(events)).toMatchObject({ outcome: "failed", exitCode: 1, error: error?.error });
    // A failed turn still persisted a rollout, so the thread is resumable.
    expect(await fx.store.load(parseAgentId("alice"))).toMatchObject({
      record: { confirmed: true },
    });
  });

  it("fails with THREAD_NOT_FOUND when codex has no rollout for the stored thread, and forgets it (thread_lost_policy fail)", async () => {
    await fx.store.save(parseAgentId("alice"), {
      thread_id: UNKNOWN_THREAD,
      usage_baseline: zero(),
      confirmed: true,
    });
    const events = await run(await deps("fake-codex.mjs", { thread_lost_policy: "fail" }));
    expect(only(events, "thread_lost")).toEqual([
      {
        kind: "thread_lost",
        threadId: UNKNOWN_THREAD,
        reason: expect.stringContaining("no rollout found for thread id") as string,
        action: "failed",
      },
    ]);
    const end = turnEnd(events);
    expect(end).toMatchObject({
      outcome: "failed",
      exitCode: 1,
      error: { class: "internal", code: "THREAD_NOT_FOUND", retryable: true },
    });
    expect(end.message).toContain("next turn starts a new thread");
    expect(readFakeCalls(fx.codexHome)[0]?.args.slice(-3)).toEqual(["resume", UNKNOWN_THREAD, "-"]);
    expect(await fx.store.load(parseAgentId("alice"))).toEqual({ status: "none" });
  });

  it("starts fresh when a stored thread never finished a turn and has no rollout", async () => {
    await fx.store.save(parseAgentId("alice"), {
      thread_id: UNKNOWN_THREAD,
      usage_baseline: zero(),
      confirmed: false,
    });
    const events = await run(await deps());
    expect(only(events, "notice")[0]?.message).toContain(
      `stored thread ${UNKNOWN_THREAD} never finished a turn`,
    );
    expect(turnEnd(events).outcome).toBe("completed");
    expect(readFakeCalls(fx.codexHome)[0]?.args).not.toContain("resume");
  });

  it("resumes an unconfirmed thread whose rollout exists", async () => {
    const turnDeps = await deps();
    await run(turnDeps, request());
    const threadId = await fx.store
      .load(parseAgentId("alice"))
      .then((loaded) => (loaded.status === "ok" ? loaded.record.thread_id : ""));
    await fx.store.save(parseAgentId("alice"), {
      thread_id: threadId,
      usage_baseline: zero(),
      confirmed: false,
    });
    const events = await run(turnDeps, request());
    expect(only(events, "turn_started")[0]).toMatchObject({ threadId, resumed: true });
    expect(readFakeCalls(fx.codexHome)[1]?.args).toContain("resume");
  });

  it("notices when codex silently starts a new thread on resume and resets the usage baseline", async () => {
    const turnDeps = await deps();
    const first = await run(turnDeps, request());
    const oldId = only(first, "turn_started")[0]?.threadId ?? "";
    await writeFakeControl(fx.codexHome, { resumeAsNewThread: true });
    const second = await run(turnDeps, request());
    const started = only(second, "turn_started")[0];
    expect(started?.resumed).toBe(false);
    expect(started?.threadId).not.toBe(oldId);
    expect(only(second, "thread_lost")).toMatchObject([
      { threadId: oldId, action: "started_new_thread" },
    ]);
    expect(only(second, "thread_lost")[0]?.reason).toContain("started a new thread");
    // The new thread's total is 10; against the old baseline of 10 it would have been 0.
    expect(only(second, "usage")[0]?.turn.input_tokens).toBe(10);
    expect(await fx.store.load(parseAgentId("alice"))).toMatchObject({
      record: { thread_id: started?.threadId, confirmed: true },
    });
  });

  it("moves a corrupt thread.json aside, says so, and starts a new thread", async () => {
    const dir = fx.store.agentDir(parseAgentId("alice"));
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, THREAD_FILE), "{ not json");
    const events = await run(await deps());
    expect(only(events, "notice")[0]?.message).toContain("is corrupt");
    expect(turnEnd(events).outcome).toBe("completed");
    expect(readdirSync(dir).some((name) => name.startsWith(`${THREAD_FILE}.corrupt-`))).toBe(true);
    expect(await fx.store.load(parseAgentId("alice"))).toMatchObject({ status: "ok" });
  });

  describe("preconditions (nothing is spawned)", () => {
    const cases: [string, (base: TurnRequest) => TurnRequest, string][] = [
      [
        "missing workspace",
        (base) => ({ ...base, workspace: "/no/such/workspace" }),
        "WORKSPACE_INVALID",
      ],
      ["relative workspace", (base) => ({ ...base, workspace: "relative" }), "WORKSPACE_INVALID"],
      ["empty prompt", (base) => ({ ...base, prompt: "  \n" }), "PROMPT_INVALID"],
      [
        "prompt over the cap",
        (base) => ({ ...base, prompt: "x".repeat(MAX_PROMPT_CHARS + 1) }),
        "PROMPT_TOO_LARGE",
      ],
      ["unsupported model", (base) => ({ ...base, model: "gpt-unknown" }), "MODEL_UNSUPPORTED"],
      ["unknown sandbox", (base) => ({ ...base, options: { sandbox: "yolo" } }), "REQUEST_INVALID"],
      [
        "smuggling override",
        (base) => ({
          ...base,
          options: { configOverrides: { model: '"x"\nsandbox_mode="danger-full-access"' } },
        }),
        "REQUEST_INVALID",
      ],
    ];

    it.each(cases)("%s", async (_name, mutate, code) => {
      const events = await run(await deps(), mutate(request()));
      expect(events.map((event) => event.kind)).toEqual(["error", "turn_end"]);
      expect(only(events, "error")[0]?.error).toMatchObject({
        class: "precondition",
        code,
        retryable: false,
      });
      expect(turnEnd(events).outcome).toBe("failed");
      expect(readFakeCalls(fx.codexHome)).toEqual([]);
    });

    it("an agent id that was not validated does not reach the engine", () => {
      // Validated once where the call enters the plugin (parseAgentId; the lifecycle e2e test
      // sends invalid ids through the real handshake). The engine takes only an AgentId.
      // @ts-expect-error a plain string is not an AgentId
      const unvalidated: TurnRequest = { ...request(), agentId: "../etc" };
      expect(unvalidated.agentId).toBe("../etc");
    });

    it("a workspace that is a file", async () => {
      const file = join(fx.workspace, "file.txt");
      await writeFile(file, "x");
      const events = await run(await deps(), request({ workspace: file }));
      expect(only(events, "error")[0]?.error.message).toContain("not a directory");
    });

    it("a codex binary that is not ready", async () => {
      const turnDeps = await deps();
      const binary = await turnDeps.binary();
      turnDeps.binary = () =>
        Promise.resolve({
          ...binary,
          ready: false,
          degradedReason: "codex was not found; install it",
          code: "CODEX_BINARY_NOT_FOUND",
        });
      const events = await run(turnDeps);
      expect(only(events, "error")[0]?.error).toMatchObject({
        class: "precondition",
        code: "CODEX_BINARY_NOT_FOUND",
      });
      expect(only(events, "error")[0]?.error.message).toContain("install it");
    });

    it("accepts a prompt of exactly the cap (counted in characters, not UTF-16 units)", async () => {
      const prompt = "𝄞".repeat(MAX_PROMPT_CHARS);
      const events = await run(await deps(), request({ prompt }));
      expect(turnEnd(events).outcome).toBe("completed");
    });
  });

  // A turn of the hanging fake, aborted with `reason` once its first text arrives.
  async function abortAtFirstText(reason: unknown): Promise<CanonicalEvent[]> {
    const controller = new AbortController();
    const events: CanonicalEvent[] = [];
    for await (const event of runTurn(
      request(),
      await deps("fake-codex-hang.mjs"),
      controller.signal,
    )) {
      events.push(event);
      if (event.kind === "text") controller.abort(reason);
    }
    return events;
  }

  it("cancels on abort with SIGINT when codex honours it", async () => {
    await writeFakeControl(fx.codexHome, { exitOnInt: true });
    const events = await abortAtFirstText("cancelled");
    const pids = await hangPids();
    const end = turnEnd(events);
    expect(end).toMatchObject({
      outcome: "cancelled",
      message: "turn cancelled by the host",
      exitCode: 1,
    });
    expect(end.error).toBeUndefined();
    expect(await waitFor(() => !isAlive(pids.stubborn) && !isAlive(pids.session), 3000)).toBe(true);
  });

  it("escalates to SIGKILL when codex ignores SIGINT and SIGTERM, leaving no grandchild", async () => {
    await writeFakeControl(fx.codexHome, { ignoreTerm: true });
    const events = await abortAtFirstText({ message: "operator pressed stop" });
    const pids = await hangPids();
    expect(turnEnd(events)).toMatchObject({
      outcome: "cancelled",
      message: "turn cancelled: operator pressed stop",
      signal: "SIGKILL",
    });
    expect(isAlive(pids.self)).toBe(false);
    expect(await waitFor(() => !isAlive(pids.stubborn) && !isAlive(pids.session), 3000)).toBe(true);
  });

  it("bounds the turn with its wall-clock timeout", async () => {
    const startedAt = Date.now();
    const events = await run(
      await deps("fake-codex-hang.mjs"),
      request({ options: { turnTimeoutMs: 400 } }),
    );
    const end = turnEnd(events);
    expect(end).toMatchObject({
      outcome: "failed",
      error: { class: "timeout", code: "TURN_TIMEOUT", retryable: true },
    });
    expect(only(events, "error").map((event) => event.error)).toEqual([end.error]);
    expect(end.message).toContain("timed out after 0.4 s");
    expect(Date.now() - startedAt).toBeLessThan(5000);
  });

  it("treats a host TimeoutError abort as a deadline", async () => {
    const events = await run(
      await deps("fake-codex-hang.mjs"),
      request(),
      AbortSignal.timeout(300),
    );
    expect(turnEnd(events)).toMatchObject({
      outcome: "cancelled",
      message: "turn deadline exceeded (host timeout)",
    });
  });

  it("does not spawn when the signal is already aborted", async () => {
    const controller = new AbortController();
    controller.abort("cancelled");
    const events = await run(await deps(), request(), controller.signal);
    expect(events.map((event) => event.kind)).toEqual(["turn_end"]);
    expect(turnEnd(events).outcome).toBe("cancelled");
    expect(readFakeCalls(fx.codexHome)).toEqual([]);
  });

  it("kills the process group when the consumer stops iterating early", async () => {
    for await (const event of runTurn(
      request(),
      await deps("fake-codex-hang.mjs"),
      new AbortController().signal,
    )) {
      if (event.kind === "turn_started") break;
    }
    const pids = await hangPids();
    expect(
      await waitFor(
        () => !isAlive(pids.self) && !isAlive(pids.stubborn) && !isAlive(pids.session),
        5000,
      ),
    ).toBe(true);
  });

  it("refuses a second concurrent turn for the same agent", async () => {
    const controller = new AbortController();
    const iterator = runTurn(request(), await deps("fake-codex-hang.mjs"), controller.signal)[
      Symbol.asyncIterator
    ]();
    for (;;) {
      const next = await iterator.next();
      if (next.done === true || next.value.kind === "turn_started") break;
    }
    // One registry answers "busy": the second turn is refused as a call, before any event.
    await expect(run(await deps("fake-codex-hang.mjs"))).rejects.toMatchObject({
      code: "AGENT_BUSY",
    });
    controller.abort("cancelled");
    const rest = await collect({ [Symbol.asyncIterator]: () => iterator });
    expect(turnEnd(rest).outcome).toBe("cancelled");
  });

  it("reaps a background child codex left in its own session after a normal turn", async () => {
    await writeFakeControl(fx.codexHome, { leaveSessionChild: true, delayMs: 1500 });
    const events = await run(await deps());
    expect(turnEnd(events).outcome).toBe("completed");
    const { session } = JSON.parse(readFileSync(join(fx.codexHome, "fake-pids.json"), "utf8")) as {
      session: number;
    };
    expect(await waitFor(() => !isAlive(session), 3000)).toBe(true);
  });

  it("stops a codex that lingers after turn.completed, keeping the turn completed", async () => {
    await writeFakeControl(fx.codexHome, { lingerAfterTurn: true });
    const turnDeps = { ...(await deps()), exitGraceMs: 300 };
    const startedAt = Date.now();
    const events = await run(turnDeps);
    expect(turnEnd(events)).toMatchObject({ outcome: "completed", signal: "SIGINT" });
    expect(only(events, "usage")).toHaveLength(1);
    expect(Date.now() - startedAt).toBeLessThan(5000);
  });

  it("stops reading codex's stdout while the consumer is slow", async () => {
    const iterator = runTurn(
      request(),
      await deps("fake-codex-flood.mjs"),
      new AbortController().signal,
    )[Symbol.asyncIterator]();
    let seen = 0;
    while (seen < 3) {
      const next = await iterator.next();
      if (next.done === true) break;
      if (next.value.kind === "reasoning") seen += 1;
    }
    await new Promise((done) => setTimeout(done, 700));
    const progress = Number(readFileSync(join(fx.codexHome, "fake-progress.txt"), "utf8"));
    // 4000 lines of 4 KiB: without back-pressure the fake would have written them all by now.
    expect(progress).toBeLessThan(400);
    const rest = await collect({ [Symbol.asyncIterator]: () => iterator });
    expect(only(rest, "reasoning").length + seen).toBe(4000);
    expect(turnEnd(rest).outcome).toBe("completed");
  });
});

function zero(): EventOf<"usage">["turn"] {
  return {
    input_tokens: 0,
    cached_input_tokens: 0,
    cache_write_input_tokens: 0,
    output_tokens: 0,
    reasoning_output_tokens: 0,
  };
}
