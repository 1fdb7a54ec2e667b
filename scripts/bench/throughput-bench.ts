// P3: event throughput. A fake codex (fake-codex-stream.mjs) streams 200,000 item events (~350 MB
// of JSONL, a 1 MiB command output every 2,000 events) through the built plugin, over the real
// handshake and RunTurn, to a gRPC client in this process:
//   - a lean client that reads each response's bytes and decodes only seq and the event kind (what
//     a Go host's generated code costs, next to nothing), which measures what the plugin can push;
//     with batched responses (StartTurn.batch_events), and as a host that reads one event per
//     message;
//   - the repo's own host library (streamTurn, protobuf-es decoding), whose decoding competes with
//     the plugin for the same two cores;
//   - the lean client reading slowly (a 100 ms pause after every 500 events): the plugin's peak RSS
//     (VmHWM, reset before each run through /proc/<pid>/clear_refs) must stay bounded, and the fake
//     codex's progress shows that it was held back by the pipe instead of the plugin buffering.
// Every run checks that all 200,000 item events arrived, in order (seq without gaps), and that
// exactly one turn_end ended the stream.
import { randomUUID } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

import { create, toBinary } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";

import { mockProviderOverrides } from "../../internal/mock-model/codex-provider-overrides.js";
import { streamTurn } from "../../internal/provider/provider-client.js";
import {
  Message_Role,
  ProviderPlugin,
  RunTurnRequestSchema,
} from "../../src/gen/plexum/provider/v1/provider_pb.js";
import type { LaunchedPlugin } from "../../src/host/launch.js";
import { launchBenchPlugin } from "./bench-plugin.js";
import { cpuMs, memoryMiB } from "./proc.js";
import { type BenchRow, report, row, runs } from "./report.js";

const FAKE_CODEX = resolve("scripts/bench/fake-codex-stream.mjs");
const EVENTS = Number(process.env["PLEXUM_BENCH_P3_EVENTS"] ?? "200000");
const GOAL_EVENTS_PER_S = 50_000;
// The slow client reads at most SLOW_EVERY events per SLOW_PAUSE_MS (≤ 5,000 events/s), over a
// shorter stream of the same mix.
const SLOW_EVERY = 500;
const SLOW_PAUSE_MS = 100;
const SLOW_EVENTS = Math.min(EVENTS, 60_000);
// Bounded memory with the slow client: the plugin stays within P4's 200 MiB, and codex never gets
// more than a few pipe and HTTP/2 windows ahead (buffering would let it run the whole stream ahead).
const SLOW_RSS_GOAL_MIB = 200;
const SLOW_LEAD_GOAL = 5_000;
const RUN_TURN = "/plexum.provider.v1.ProviderPlugin/RunTurn";

// TurnEvent oneof field numbers (proto/plexum/provider/v1/provider.proto).
const FIELD = { text: 11, reasoning: 12, tool: 13, turnEnd: 18 } as const;

interface RunResult {
  seconds: number;
  events: number;
  itemEvents: number;
  bytes: number;
  peakRssMiB: number;
  pluginCpuMs: number;
  /** Largest (events written by codex − events received by the client) seen while sampling. */
  maxLead: number;
}

function readVarint(bytes: Uint8Array, offset: number): [value: number, next: number] {
  let value = 0;
  let shift = 0;
  let at = offset;
  for (;;) {
    const byte = bytes[at] ?? 0;
    at += 1;
    value += (byte & 0x7f) * 2 ** shift;
    if ((byte & 0x80) === 0) return [value, at];
    shift += 7;
  }
}

/** seq and oneof field number of each TurnEvent in one serialized RunTurnResponse. */
function peekEvents(response: Uint8Array): { seq: number; kind: number }[] {
  const events: { seq: number; kind: number }[] = [];
  for (let at = 0; at < response.length;) {
    // RunTurnResponse.event (field 1) or one of RunTurnResponse.events (field 2), length-delimited.
    const tag = response[at];
    if (tag !== 0x0a && tag !== 0x12) throw new Error(`unexpected RunTurnResponse tag ${tag}`);
    const [length, start] = readVarint(response, at + 1);
    events.push(peekEvent(response, start, start + length));
    at = start + length;
  }
  return events;
}

function peekEvent(
  response: Uint8Array,
  start: number,
  end: number,
): { seq: number; kind: number } {
  let seq = 0;
  let kind = 0;
  for (let at = start; at < end;) {
    const [tag, afterTag] = readVarint(response, at);
    const field = Math.floor(tag / 8);
    const wire = tag & 7;
    if (wire === 0) {
      const [value, next] = readVarint(response, afterTag);
      if (field === 1) seq = value;
      at = next;
    } else if (wire === 2) {
      const [size, next] = readVarint(response, afterTag);
      if (field >= 10) kind = field;
      at = next + size;
    } else {
      throw new Error(`unexpected wire type ${wire}`);
    }
  }
  return { seq, kind };
}

function writeControl(codexHome: string, progressFile: string, events: number): void {
  writeFileSync(
    join(codexHome, "stream-control.json"),
    JSON.stringify({ events, progressFile, threadId: randomUUID() }),
  );
  writeFileSync(progressFile, "0 0");
}

function codexProgress(progressFile: string): number {
  try {
    return Number(readFileSync(progressFile, "utf8").split(" ")[0]);
  } catch {
    return 0;
  }
}

function resetPeakRss(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, "5");
    return true;
  } catch {
    return false;
  }
}

function startRequest(agentId: string, workspace: string, batchEvents: boolean): Buffer {
  const request = create(RunTurnRequestSchema, {
    request: {
      case: "start",
      value: {
        agent: { agentId, workspace },
        conversation: [{ role: Message_Role.USER, text: "stream" }],
        batchEvents,
      },
    },
  });
  return Buffer.from(toBinary(RunTurnRequestSchema, request));
}

/**
 * One turn of `events` item events read by the lean client; `slow` pauses as described above;
 * `batched` asks for several events per message (StartTurn.batch_events).
 */
function leanRun(
  plugin: LaunchedPlugin,
  agentId: string,
  workspace: string,
  progressFile: string,
  events: number,
  { slow, batched }: { slow: boolean; batched: boolean },
): Promise<RunResult> {
  const pid = plugin.process.pid ?? 0;
  const client = new grpc.Client(plugin.address, plugin.credentials, {
    ...plugin.channelOptions,
    "grpc.max_receive_message_length": -1,
    "grpc.max_send_message_length": -1,
  });
  return new Promise((resolvePromise, reject) => {
    const started = performance.now();
    const cpuBefore = cpuMs(pid);
    const call = client.makeBidiStreamRequest<Buffer, Buffer>(
      RUN_TURN,
      (bytes) => bytes,
      (bytes) => bytes,
    );
    let received = 0;
    let itemEvents = 0;
    let bytes = 0;
    let lastSeq = 0;
    let turnEnds = 0;
    let maxLead = 0;
    let peakRss = 0;
    const sampler = setInterval(() => {
      peakRss = Math.max(peakRss, memoryMiB(pid, "VmRSS"));
      maxLead = Math.max(maxLead, codexProgress(progressFile) - itemEvents);
    }, 50);
    const finish = (error?: Error) => {
      clearInterval(sampler);
      client.close();
      if (error !== undefined) {
        reject(error);
        return;
      }
      if (itemEvents !== events || turnEnds !== 1) {
        reject(new Error(`lost events: ${itemEvents}/${events} item events, ${turnEnds} turn_end`));
        return;
      }
      const hwm = memoryMiB(pid, "VmHWM");
      resolvePromise({
        seconds: (performance.now() - started) / 1000,
        events: received,
        itemEvents,
        bytes,
        peakRssMiB: Number.isFinite(hwm) ? Math.max(hwm, peakRss) : peakRss,
        pluginCpuMs: cpuMs(pid) - cpuBefore,
        maxLead,
      });
    };
    call.on("data", (response: Buffer) => {
      const before = received;
      bytes += response.length;
      for (const { seq, kind } of peekEvents(response)) {
        if (seq !== lastSeq + 1) {
          call.cancel();
          finish(new Error(`seq ${seq} after ${lastSeq}: an event was lost or reordered`));
          return;
        }
        lastSeq = seq;
        received += 1;
        if (kind === FIELD.text || kind === FIELD.reasoning || kind === FIELD.tool) itemEvents += 1;
        if (kind === FIELD.turnEnd) {
          turnEnds += 1;
          call.end();
        }
      }
      if (slow && Math.floor(received / SLOW_EVERY) > Math.floor(before / SLOW_EVERY)) {
        call.pause();
        setTimeout(() => call.resume(), SLOW_PAUSE_MS);
      }
    });
    call.on("error", (error: Error) => finish(error));
    call.on("end", () => finish());
    call.write(startRequest(agentId, workspace, batched));
  });
}

/** One turn read through the repo's host library (protobuf-es decoding of every message). */
async function libraryRun(
  plugin: LaunchedPlugin,
  agentId: string,
  workspace: string,
): Promise<RunResult> {
  const pid = plugin.process.pid ?? 0;
  const client = plugin.createClient(ProviderPlugin);
  const started = performance.now();
  const cpuBefore = cpuMs(pid);
  let events = 0;
  let itemEvents = 0;
  let lastSeq = 0n;
  let turnEnds = 0;
  let peakRss = 0;
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, memoryMiB(pid, "VmRSS"));
  }, 50);
  try {
    for await (const event of streamTurn(client, {
      agent: { agentId, workspace },
      conversation: [{ role: Message_Role.USER, text: "stream" }],
    })) {
      if (event.seq !== lastSeq + 1n) throw new Error(`seq ${event.seq} after ${lastSeq}`);
      lastSeq = event.seq;
      events += 1;
      const kind = event.event.case;
      if (kind === "text" || kind === "reasoning" || kind === "tool") itemEvents += 1;
      if (kind === "turnEnd") turnEnds += 1;
    }
  } finally {
    clearInterval(sampler);
    client.close();
  }
  if (itemEvents !== EVENTS || turnEnds !== 1) {
    throw new Error(`lost events: ${itemEvents}/${EVENTS} item events, ${turnEnds} turn_end`);
  }
  const hwm = memoryMiB(pid, "VmHWM");
  return {
    seconds: (performance.now() - started) / 1000,
    events,
    itemEvents,
    bytes: Number.NaN,
    peakRssMiB: Number.isFinite(hwm) ? Math.max(hwm, peakRss) : peakRss,
    pluginCpuMs: cpuMs(pid) - cpuBefore,
    maxLead: Number.NaN,
  };
}

async function main(): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), "plexum-bench-p3-"));
  const workspace = join(root, "workspace");
  const codexHome = join(root, "codex-home");
  await Promise.all([mkdir(workspace), mkdir(codexHome)]);
  const progressFile = join(root, "progress");
  const plugin = await launchBenchPlugin(root);
  const pid = plugin.process.pid ?? 0;
  const client = plugin.createClient(ProviderPlugin);
  try {
    await client.configure({
      configJson: new TextEncoder().encode(
        JSON.stringify({
          binary: FAKE_CODEX,
          state_dir: join(root, "state"),
          codex_home: codexHome,
          // No model is called; this only satisfies the plugin's credentials check.
          config_overrides: mockProviderOverrides("http://127.0.0.1:9/v1"),
        }),
      ),
    });
    const baselineRss = memoryMiB(pid, "VmRSS");
    let run = 0;
    const next = (events = EVENTS): string => {
      run += 1;
      writeControl(codexHome, progressFile, events);
      return `p3-${run}`;
    };
    const canReset = resetPeakRss(pid);
    const lean: RunResult[] = [];
    const single: RunResult[] = [];
    const library: RunResult[] = [];
    const slow: RunResult[] = [];
    const count = runs(3);
    const fast = { slow: false, batched: true };
    for (let i = 0; i < count; i += 1) {
      resetPeakRss(pid);
      lean.push(await leanRun(plugin, next(), workspace, progressFile, EVENTS, fast));
      resetPeakRss(pid);
      library.push(await libraryRun(plugin, next(), workspace));
      resetPeakRss(pid);
      single.push(
        await leanRun(plugin, next(), workspace, progressFile, EVENTS, { ...fast, batched: false }),
      );
    }
    for (let i = 0; i < Math.max(1, Math.round(count / 3)); i += 1) {
      resetPeakRss(pid);
      slow.push(
        await leanRun(plugin, next(SLOW_EVENTS), workspace, progressFile, SLOW_EVENTS, {
          slow: true,
          batched: true,
        }),
      );
    }

    const rate = (r: RunResult) => r.itemEvents / r.seconds;
    const totalMb = (lean[0]?.bytes ?? Number.NaN) / 1e6;
    const rows: BenchRow[] = [
      row("events/s, lean client", "events/s", lean.map(rate), {
        goal: { op: ">=", value: GOAL_EVENTS_PER_S },
      }),
      row(
        "MB/s of gRPC messages, lean client",
        "MB/s",
        lean.map((r) => r.bytes / 1e6 / r.seconds),
      ),
      row(
        "plugin CPU per event, lean client",
        "µs",
        lean.map((r) => (r.pluginCpuMs * 1000) / r.events),
      ),
      row(
        "plugin peak RSS, lean client",
        "MiB",
        lean.map((r) => r.peakRssMiB),
      ),
      row("events/s, protobuf-es host library", "events/s", library.map(rate)),
      row("events/s, lean client, one event per message", "events/s", single.map(rate)),
      row(
        "plugin CPU per event, one event per message",
        "µs",
        single.map((r) => (r.pluginCpuMs * 1000) / r.events),
      ),
      row(
        "plugin peak RSS, protobuf-es host library",
        "MiB",
        library.map((r) => r.peakRssMiB),
      ),
      row("slow client: events/s", "events/s", slow.map(rate)),
      // "Bounded": the slow stream is ~100 MB of messages; buffering it would show in both.
      row(
        "slow client: plugin peak RSS",
        "MiB",
        slow.map((r) => r.peakRssMiB),
        {
          goal: { op: "<=", value: SLOW_RSS_GOAL_MIB },
        },
      ),
      row(
        "slow client: codex ahead of the client by at most",
        "events",
        slow.map((r) => r.maxLead),
        { goal: { op: "<=", value: SLOW_LEAD_GOAL } },
      ),
    ];
    report({
      id: "P3",
      title: `event throughput: ${EVENTS.toLocaleString("en-US")} events through the plugin`,
      rows,
      notes: [
        `each run: ${EVENTS.toLocaleString("en-US")} item events, ${totalMb.toFixed(0)} MB of gRPC ` +
          "messages, every event checked (seq without gaps, one turn_end)",
        "the lean client and the host library ask for batched responses (StartTurn.batch_events: " +
          "the events of one read of codex's output per message); 'one event per message' is a " +
          "host that does not",
        `plugin RSS after Configure: ${baselineRss.toFixed(0)} MiB; peak RSS is VmHWM` +
          (canReset
            ? ", reset before each run"
            : " (could not reset: the peak of the whole process)"),
        `the slow client reads ${SLOW_EVENTS.toLocaleString("en-US")} events of the same mix, ` +
          `pausing ${SLOW_PAUSE_MS} ms after every ${SLOW_EVERY}; codex's lead is sampled every 50 ms ` +
          "from its progress file (written every 16 writes of ~64 KB); with the whole stream " +
          "buffered the lead would be the whole stream",
      ],
    });
  } finally {
    client.close();
    await plugin.kill();
    await rm(root, { recursive: true, force: true });
  }
}

await main();
