// Turns started and cancelled in a loop through the built plugin and the real codex, cancelled at
// different points and in the three ways a host can: CancelTurn, a cancel message on the RunTurn
// stream, and dropping the stream. Used by test/e2e/lifecycle.test.ts (a few iterations) and by
// `npm run soak` (1,000).
import type { MessageInitShape } from "@bufbuild/protobuf";

import { execCommand, respond } from "../../internal/mock-model/reply-builders.js";
import {
  Message_Role,
  type RunTurnRequestSchema,
  TurnEnd_Outcome,
} from "../../src/gen/plexum/provider/v1/provider_pb.js";
import type { PluginHarness } from "../helpers/plugin-harness.js";
import { findProcesses, type ProcessStats, processStats, waitUntil } from "./process-stats.js";

/** A mock script for the loop: every request runs a long command (the turn never ends alone). */
export function cancelLoopScript(marker: string) {
  return () =>
    respond(execCommand(`exec sleep ${marker}`, { extraArgs: { yield_time_ms: 60_000 } }));
}

export interface CancelLoopResult {
  iterations: number;
  before: ProcessStats;
  after: ProcessStats;
  /** Processes of the loop still alive after it (codex, or the `sleep <marker>` commands). */
  orphans: number[];
  outcomes: Record<string, number>;
  durationMs: number;
}

type Point = "immediately" | "turn_started" | "command_running";
type Way = "cancel_rpc" | "cancel_message" | "drop_stream";
const POINTS: Point[] = ["immediately", "turn_started", "command_running"];
const WAYS: Way[] = ["cancel_rpc", "cancel_message", "drop_stream"];
const AGENTS = 4;

/**
 * Runs `iterations` turns, each cancelled at a point and in a way chosen round-robin. The harness's
 * mock must answer with {@link cancelLoopScript}(marker). Stats are taken after a warm-up turn.
 */
export async function runCancelLoop(
  harness: PluginHarness,
  iterations: number,
  marker: string,
  onProgress?: (done: number, result: Partial<CancelLoopResult> & { now: ProcessStats }) => void,
): Promise<CancelLoopResult> {
  const pid = harness.plugin.process.pid as number;
  const outcomes: Record<string, number> = {};
  await oneTurn(harness, "loop-agent-warmup", "command_running", "cancel_rpc");
  const before = await settledStats(pid);
  const startedAt = performance.now();
  for (let index = 0; index < iterations; index += 1) {
    const point = POINTS[index % POINTS.length] as Point;
    const way = WAYS[Math.floor(index / POINTS.length) % WAYS.length] as Way;
    const outcome = await oneTurn(harness, `loop-agent-${index % AGENTS}`, point, way);
    outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
    if (onProgress !== undefined && (index + 1) % 50 === 0) {
      onProgress(index + 1, { outcomes, now: await processStats(pid) });
    }
  }
  const durationMs = performance.now() - startedAt;
  // Every agent idle: nothing of any turn is left running.
  for (let agent = 0; agent < AGENTS; agent += 1) await waitIdle(harness, `loop-agent-${agent}`);
  const after = await settledStats(pid);
  const orphans = await findProcesses(
    (argv, cwd) => cwd === harness.workspace || (argv[0] === "sleep" && argv[1] === marker),
  );
  return { iterations, before, after, orphans, outcomes, durationMs };
}

// Descendants at rest, after a GC-friendly pause.
async function settledStats(pid: number): Promise<ProcessStats> {
  await waitUntil(
    "the plugin to have no child processes",
    async () => ((await processStats(pid)).descendants === 0 ? true : undefined),
    15_000,
  );
  await new Promise((resolve) => setTimeout(resolve, 500));
  return processStats(pid);
}

async function waitIdle(harness: PluginHarness, agentId: string): Promise<void> {
  await waitUntil(
    `agent ${agentId} to be idle`,
    async () => ((await harness.client.cancelTurn({ agentId })).cancelled ? undefined : true),
    15_000,
  );
}

async function oneTurn(
  harness: PluginHarness,
  agentId: string,
  point: Point,
  way: Way,
): Promise<string> {
  await waitIdle(harness, agentId);
  const call = harness.client.runTurn();
  call.on("error", () => {});
  const start: MessageInitShape<typeof RunTurnRequestSchema> = {
    request: {
      case: "start",
      value: {
        agent: { agentId, workspace: harness.workspace },
        conversation: [{ role: Message_Role.USER, text: "run the long command" }],
      },
    },
  };
  call.write(start);
  let ended: string | undefined;
  let cancelled = false;
  const cancel = async () => {
    if (cancelled) return;
    cancelled = true;
    if (way === "cancel_rpc") {
      // The RPC may overtake the stream's start; it says whether a turn was there to cancel.
      await waitUntil("CancelTurn to find the turn", async () =>
        (await harness.client.cancelTurn({ agentId, reason: "loop" })).cancelled ? true : undefined,
      );
    } else if (way === "cancel_message") {
      call.write({ request: { case: "cancel", value: { reason: "loop" } } });
    } else call.cancel();
  };
  if (point === "immediately") await cancel();
  try {
    for await (const response of call) {
      const event = (response as { event?: { event: { case?: string; value?: unknown } } }).event;
      const kind = event?.event.case;
      if (kind === "turnStarted" && point === "turn_started") await cancel();
      if (kind === "tool" && point === "command_running") await cancel();
      if (kind === "turnEnd") {
        const outcome = (event?.event.value as { outcome: TurnEnd_Outcome }).outcome;
        ended = TurnEnd_Outcome[outcome] ?? String(outcome);
        break;
      }
    }
  } catch {
    // A dropped stream ends with CANCELLED on the client side.
  }
  if (!call.writableEnded) call.end();
  return ended ?? (way === "drop_stream" ? "DROPPED" : "NO_TURN_END");
}
