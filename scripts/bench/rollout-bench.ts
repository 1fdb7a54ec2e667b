// The rollout mirror and Consume on a synthetic rollout (100 MB by default; BENCH_ROLLOUT_MB to
// change it), each next to the original plugin's approach of re-parsing the whole file:
//   1. post-turn mirror: a small turn appended to the big rollout, read from the stored cursor;
//   2. Consume: a streamed rewrite eliding three calls (near the start, middle and end), each run
//      in a fresh process so its peak memory can be measured.
// Prints min / median / max per measurement. Run through `node scripts/bench-rollout.mjs`.
import { spawnSync } from "node:child_process";
import { once } from "node:events";
import { createWriteStream } from "node:fs";
import {
  appendFile,
  copyFile,
  mkdir,
  mkdtemp,
  readFile,
  rm,
  stat,
  writeFile,
} from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

import { parseAgentId } from "../../internal/core/agent-id.js";
import { systemClock } from "../../internal/core/clock.js";
import { consumeRollout } from "../../internal/rollout/consume-rollout.js";
import { rawLines } from "../../internal/rollout/raw-lines.js";
import { readRolloutContent } from "../../internal/rollout/rollout-content.js";
import { parseRolloutLine } from "../../internal/rollout/rollout-line.js";
import { RolloutMirror } from "../../internal/rollout/rollout-mirror.js";
import { ToolRecordExtractor } from "../../internal/rollout/tool-records.js";
import { ThreadStore } from "../../internal/store/thread-store.js";

const THREAD = "01a200b8-0000-7000-8000-00000000b001";
const MB = 1024 * 1024;

interface Stats {
  min: number;
  median: number;
  max: number;
  runs: number;
}

function stats(values: number[]): Stats {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    min: sorted[0] ?? NaN,
    median: sorted[Math.floor(sorted.length / 2)] ?? NaN,
    max: sorted.at(-1) ?? NaN,
    runs: sorted.length,
  };
}

function row(label: string, value: Stats, unit: string, goal = ""): string {
  const fmt = (n: number) => (n < 10 ? n.toFixed(2) : n.toFixed(0));
  return (
    `${label.padEnd(52)} min ${fmt(value.min).padStart(7)}  median ${fmt(value.median).padStart(7)}` +
    `  max ${fmt(value.max).padStart(7)} ${unit}  (${value.runs} runs)${goal === "" ? "" : `  ${goal}`}`
  );
}

// Deterministic filler text of a given length.
function filler(length: number, seed: number): string {
  const words = ["alpha", "beta", "gamma", "delta", "log", "line", "ok", "error", "value", "file"];
  let text = "";
  let state = seed;
  while (text.length < length) {
    state = (state * 1103515245 + 12345) & 0x7fffffff;
    text += `${words[state % words.length] ?? ""}${state % 97} `;
    if (state % 13 === 0) text += "\n";
  }
  return text.slice(0, length);
}

let ordinal = 0;
function line(type: string, payload: Record<string, unknown>): string {
  const record = {
    timestamp: new Date(1_795_308_406_000 + ordinal * 7).toISOString(),
    ordinal: ordinal++,
    type,
    payload,
  };
  return `${JSON.stringify(record)}\n`;
}

// One turn of a busy agent: ~60 KB, three tool calls with sizeable outputs.
function turnLines(turn: number): { text: string; callIds: string[] } {
  const turnId = `turn-${turn}`;
  const ids = [`call_${turn}_a`, `call_${turn}_b`, `call_${turn}_c`];
  const parts = [
    line("event_msg", { type: "task_started", turn_id: turnId }),
    line("turn_context", { turn_id: turnId, cwd: "/work/ws", model: "gpt-6.1-sol" }),
    line("response_item", {
      type: "message",
      role: "user",
      content: [{ type: "input_text", text: filler(400, turn) }],
    }),
  ];
  ids.forEach((id, index) => {
    const output = filler(index === 1 ? 30_000 : 9_000, turn * 3 + index);
    parts.push(
      line("response_item", {
        type: "function_call",
        id: `fc_${id}`,
        name: "exec_command",
        arguments: JSON.stringify({ cmd: `cat file-${turn}-${index}.log`, login: false }),
        call_id: id,
      }),
      line("event_msg", {
        type: "item_completed",
        turn_id: turnId,
        item: { type: "CommandExecution", id, aggregated_output: output.slice(0, 2000) },
      }),
      line("response_item", { type: "function_call_output", id: `fco_${id}`, call_id: id, output }),
      line("token_usage_record", {
        turn_id: turnId,
        usage: { input_tokens: 1000 + turn, output_tokens: 50 },
      }),
    );
  });
  parts.push(
    line("response_item", {
      type: "message",
      role: "assistant",
      content: [{ type: "output_text", text: filler(600, turn + 7) }],
    }),
    line("event_msg", { type: "task_complete", turn_id: turnId }),
  );
  return { text: parts.join(""), callIds: ids };
}

async function makeRollout(path: string, bytes: number): Promise<string[]> {
  const out = createWriteStream(path);
  const write = async (text: string) => {
    if (!out.write(text)) await once(out, "drain");
  };
  ordinal = 0;
  await write(
    line("session_meta", { id: THREAD, cli_version: "0.169.0", history_mode: "paginated" }),
  );
  let written = 0;
  let turn = 0;
  const callIds: string[] = [];
  while (written < bytes) {
    const { text, callIds: ids } = turnLines(turn);
    await write(text);
    written += Buffer.byteLength(text);
    callIds.push(...ids);
    turn += 1;
  }
  out.end();
  await once(out, "finish");
  return callIds;
}

async function time<T>(task: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const started = performance.now();
  const value = await task();
  return { ms: performance.now() - started, value };
}

// The original's approach: parse every line of the whole file after each turn.
async function fullReparse(path: string): Promise<number> {
  const extractor = new ToolRecordExtractor();
  let events = 0;
  for await (const raw of rawLines(readRolloutContent(path))) {
    const parsed = parseRolloutLine(raw.bytes.toString("utf8"));
    if (parsed !== undefined) events += extractor.eventsOf(parsed).length;
  }
  return events;
}

// --- child mode: one consume, with its peak memory ---

async function child(kind: string, path: string, ids: string[]): Promise<void> {
  global.gc?.();
  const baseline = process.memoryUsage().rss;
  let peak = baseline;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 2);
  const { ms } = await time(async () => {
    if (kind === "streamed") {
      const outcome = await consumeRollout(path, ids);
      if (outcome.rewritten.length !== ids.length) throw new Error("not all ids rewritten");
      return;
    }
    // Naive: the whole file in memory, every line parsed and serialised again.
    const lines = (await readFile(path, "utf8")).split("\n");
    const wanted = new Set(ids);
    const rewritten = lines.map((text) => {
      if (text === "") return text;
      const value = JSON.parse(text) as { payload?: Record<string, unknown> };
      const payload = value.payload ?? {};
      if (typeof payload["call_id"] === "string" && wanted.has(payload["call_id"])) {
        if (payload["type"] === "function_call") payload["arguments"] = "{}";
        else payload["output"] = "...(tool called)";
      }
      return JSON.stringify(value);
    });
    await writeFile(`${path}.naive`, rewritten.join("\n"));
  });
  clearInterval(sampler);
  peak = Math.max(peak, process.resourceUsage().maxRSS * 1024);
  process.stdout.write(`${JSON.stringify({ ms, peakMb: (peak - baseline) / MB })}\n`);
}

function runChild(kind: string, path: string, ids: string[]): { ms: number; peakMb: number } {
  const self = fileURLToPath(import.meta.url);
  const run = spawnSync(process.execPath, [self, "--child", kind, path, ...ids], {
    encoding: "utf8",
  });
  if (run.status !== 0) throw new Error(`child failed: ${run.stderr}`);
  return JSON.parse(run.stdout.trim()) as { ms: number; peakMb: number };
}

// --- main ---

async function main(): Promise<void> {
  const sizeMb = Number(process.env["BENCH_ROLLOUT_MB"] ?? 100);
  const root = await mkdtemp(join(tmpdir(), "plexum-rollout-bench-"));
  try {
    const home = join(root, "codex-home");
    const dir = join(home, "sessions", "2026", "11", "22");
    await mkdir(dir, { recursive: true });
    const path = join(dir, `rollout-2026-11-22T00-00-00-${THREAD}.jsonl`);
    const callIds = await makeRollout(path, sizeMb * MB);
    const place = { codexHome: home, clock: systemClock, since: Date.now() };
    const size = (await stat(path)).size;
    console.log(
      `synthetic rollout: ${(size / MB).toFixed(1)} MB, ${ordinal} lines, ${callIds.length} tool calls`,
    );

    // 1. Post-turn mirror.
    const before = await RolloutMirror.forResumedThread(place, THREAD, undefined);
    const cursor = before.cursor();
    if (cursor === undefined) throw new Error("no cursor");
    const turn = turnLines(1_000_000);
    await appendFile(path, turn.text);
    console.log(
      `appended turn: ${(Buffer.byteLength(turn.text) / 1024).toFixed(0)} KB, 3 tool calls`,
    );
    const mirrorMs: number[] = [];
    // One warm-up read (JIT); in the plugin the end-of-turn read follows the in-turn ones.
    await (await RolloutMirror.forResumedThread(place, THREAD, cursor)).read(false);
    for (let run = 0; run < 30; run += 1) {
      const mirror = await RolloutMirror.forResumedThread(place, THREAD, cursor);
      const { ms, value } = await time(() => mirror.read(false));
      if (value.events.length !== 6) throw new Error(`mirror saw ${value.events.length} events`);
      mirrorMs.push(ms);
    }
    const store = new ThreadStore(join(root, "state"));
    await store.save(parseAgentId("bench"), {
      thread_id: THREAD,
      usage_baseline: {
        input_tokens: 0,
        cached_input_tokens: 0,
        cache_write_input_tokens: 0,
        output_tokens: 0,
        reasoning_output_tokens: 0,
      },
      confirmed: true,
    });
    const persistMs: number[] = [];
    for (let run = 0; run < 30; run += 1) {
      persistMs.push(
        (await time(() => store.saveRolloutCursor(parseAgentId("bench"), THREAD, cursor))).ms,
      );
    }
    const fullMs: number[] = [];
    for (let run = 0; run < 5; run += 1) {
      const { ms, value } = await time(() => fullReparse(path));
      if (value !== (callIds.length + 3) * 2) throw new Error(`re-parse saw ${value} events`);
      fullMs.push(ms);
    }

    // 2. Consume.
    const ids = [
      callIds[1] ?? "",
      callIds[Math.floor(callIds.length / 2)] ?? "",
      callIds.at(-2) ?? "",
    ];
    const work = join(dir, `rollout-2026-11-22T00-00-01-${THREAD}.jsonl`);
    const consume: { ms: number; peakMb: number }[] = [];
    for (let run = 0; run < 5; run += 1) {
      await copyFile(path, work);
      consume.push(runChild("streamed", work, ids));
    }
    const naive: { ms: number; peakMb: number }[] = [];
    for (let run = 0; run < 3; run += 1) {
      await copyFile(path, work);
      naive.push(runChild("naive", work, ids));
      await rm(`${work}.naive`, { force: true });
    }

    console.log("");
    console.log(
      row("post-turn mirror read (from the stored cursor)", stats(mirrorMs), "ms", "goal ≤ 20 ms"),
    );
    console.log(row("  + storing the cursor (atomic write, fsync)", stats(persistMs), "ms"));
    console.log(row("full re-parse of the rollout (original approach)", stats(fullMs), "ms"));
    console.log(
      row(
        `consume rewrite, streamed (${sizeMb} MB)`,
        stats(consume.map((c) => c.ms)),
        "ms",
        "goal ≤ 1500 ms",
      ),
    );
    console.log(row("  peak memory above baseline", stats(consume.map((c) => c.peakMb)), "MB"));
    console.log(
      row("consume rewrite, whole file in memory (naive)", stats(naive.map((c) => c.ms)), "ms"),
    );
    console.log(row("  peak memory above baseline", stats(naive.map((c) => c.peakMb)), "MB"));
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

const args = process.argv.slice(2);
if (args[0] === "--child") {
  await child(args[1] ?? "", args[2] ?? "", args.slice(3));
} else {
  await main();
}
