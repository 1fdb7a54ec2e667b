// A development host: loads the plugin by path through the real go-plugin handshake, exactly as the
// daemon does, configures it and runs turns, reporting what happens.
import { resolve } from "node:path";

import type { MessageInitShape } from "@bufbuild/protobuf";

import { PLEXUM_HANDSHAKE } from "../../internal/provider/plugin-identity.js";
import { streamTurn } from "../../internal/provider/provider-client.js";
import {
  Diagnostic_Severity,
  ErrorClass,
  Message_Role,
  ProviderPlugin,
  type StartTurnSchema,
  TurnEnd_Outcome,
  type Usage,
} from "../../internal/provider/provider-protocol.js";
import { type LaunchedPlugin, launchPlugin } from "../../src/host/launch.js";
import type { ServiceClient } from "../../src/plugin/grpc-client.js";
import type { HostReport, TokenCounts, TurnSummary } from "./host-report.js";

/** A launched, configured plugin and its client. */
export interface HostSession {
  plugin: LaunchedPlugin;
  client: ServiceClient<typeof ProviderPlugin>;
}

/** One turn to run. */
export interface TurnRequest {
  agentId: string;
  workspace: string;
  prompt: string;
  model?: string;
}

/** Launches the plugin through the handshake and configures it. */
export async function openSession(
  pluginPath: string,
  config: unknown,
  out: HostReport,
  options: { env?: NodeJS.ProcessEnv } = {},
): Promise<HostSession> {
  const plugin = await launchPlugin({
    path: resolve(pluginPath),
    cookieKey: PLEXUM_HANDSHAKE.cookieKey,
    cookieValue: PLEXUM_HANDSHAKE.cookieValue,
    protocolVersions: PLEXUM_HANDSHAKE.appProtocolVersions,
    autoMtls: false,
    ...(options.env === undefined ? {} : { env: options.env }),
    // Plugin logs stay available for debugging without cluttering the turn's output.
    stderr: (line) => {
      if (process.env.PLEXUM_DEV_HOST_PLUGIN_LOGS === "1") process.stderr.write(`${line}\n`);
    },
  });
  const client = plugin.createClient(ProviderPlugin);
  try {
    const info = await client.getInfo({});
    out.report({
      type: "plugin",
      name: info.name,
      version: info.version,
      protocol_version: info.protocolVersion,
      address: plugin.address,
    });
    const configured = await client.configure({
      configJson: new TextEncoder().encode(JSON.stringify(config ?? {})),
    });
    const codex = configured.codex;
    out.report({
      type: "codex",
      ready: codex?.ready === true,
      version: codex?.version ?? "",
      path: codex?.binaryPath ?? "",
      source: codex?.source ?? "",
      degraded_reason: codex?.degradedReason ?? "",
    });
    for (const diagnostic of configured.diagnostics) {
      out.report({
        type: "diagnostic",
        severity: diagnostic.severity === Diagnostic_Severity.ERROR ? "error" : "warning",
        field: diagnostic.field,
        summary: diagnostic.summary,
      });
    }
  } catch (error) {
    client.close();
    await plugin.kill();
    throw error;
  }
  return { plugin, client };
}

/** Makes the agent's next turn start a new thread (ResetThread). */
export async function resetThread(
  session: HostSession,
  agentId: string,
  out: HostReport,
): Promise<void> {
  const { previousThreadId } = await session.client.resetThread({ agentId });
  out.report({ type: "thread_reset", agent_id: agentId, previous_thread_id: previousThreadId });
}

/** Runs one turn, reporting each event; resolves to its summary. */
export async function runTurn(
  session: HostSession,
  turn: TurnRequest,
  index: number,
  out: HostReport,
  signal?: AbortSignal,
): Promise<TurnSummary> {
  const start: MessageInitShape<typeof StartTurnSchema> = {
    agent: { agentId: turn.agentId, workspace: turn.workspace },
    model: turn.model ?? "",
    conversation: [{ role: Message_Role.USER, text: turn.prompt }],
  };
  out.report({ type: "turn", turn: index, agent_id: turn.agentId, prompt: turn.prompt });
  const summary: TurnSummary = {
    prompt: turn.prompt,
    thread_id: "",
    resumed: false,
    outcome: "none",
    message: "the stream ended without turn_end",
    duration_ms: 0,
    final_text: "",
  };
  for await (const event of streamTurn(session.client, start, signal ? { signal } : {})) {
    out.report({ type: "event", turn: index, event });
    const body = event.event;
    if (body.case === "turnStarted") {
      summary.thread_id = body.value.threadId;
      summary.resumed = body.value.resumed;
    } else if (body.case === "turnEnd") {
      const end = body.value;
      summary.outcome = TurnEnd_Outcome[end.outcome]?.toLowerCase() ?? "unspecified";
      summary.message = end.message;
      summary.duration_ms = Number(end.durationMs);
      summary.final_text = end.finalText;
      if (end.threadId !== "") summary.thread_id = end.threadId;
      if (end.usage !== undefined) summary.usage = tokenCounts(end.usage);
      if (end.error !== undefined) {
        summary.error = {
          class: ErrorClass[end.error.class]?.toLowerCase() ?? "unspecified",
          code: end.error.code,
          message: end.error.message,
          retryable: end.error.retryable,
        };
      }
    }
  }
  return summary;
}

/** Shuts the plugin down the way go-plugin's Client.Kill does. */
export async function closeSession(session: HostSession, out: HostReport): Promise<void> {
  session.client.close();
  const exit = await session.plugin.kill();
  out.report({
    type: "plugin_stopped",
    duration_ms: Math.round(exit.durationMs),
    exit_code: exit.exitCode,
    signal: exit.signal,
  });
}

/** A whole session: what `demo` and `run` do once they know the plugin and its config. */
export interface SessionPlan {
  pluginPath: string;
  config: unknown;
  agentId: string;
  workspace: string;
  prompts: readonly string[];
  model?: string;
  /** ResetThread before the first turn. */
  newThread?: boolean;
  /** Skip the remaining prompts after a turn that did not complete. */
  stopOnFailure?: boolean;
  /** Cancels the running turn; no further prompt starts. */
  signal?: AbortSignal;
  /** For the summary: how many requests the embedded mock model served. */
  mockRequests?: () => number;
}

/** Opens a session, runs the plan's turns, closes it and reports the summary; true when every turn completed. */
export async function runSession(plan: SessionPlan, out: HostReport): Promise<boolean> {
  const session = await openSession(plan.pluginPath, plan.config, out);
  const turns: TurnSummary[] = [];
  try {
    if (plan.newThread === true) await resetThread(session, plan.agentId, out);
    for (const prompt of plan.prompts) {
      const turn = { agentId: plan.agentId, workspace: plan.workspace, prompt };
      const summary = await runTurn(
        session,
        plan.model === undefined ? turn : { ...turn, model: plan.model },
        turns.length + 1,
        out,
        plan.signal,
      );
      turns.push(summary);
      if (plan.signal?.aborted === true) break;
      if (summary.outcome !== "completed" && plan.stopOnFailure === true) break;
    }
  } finally {
    await closeSession(session, out);
  }
  const ok = turns.length === plan.prompts.length && turns.every((t) => t.outcome === "completed");
  out.report({
    type: "summary",
    ok,
    agent_id: plan.agentId,
    turns,
    ...(plan.mockRequests === undefined ? {} : { mock_requests: plan.mockRequests() }),
  });
  return ok;
}

/** The wire usage as plain numbers. */
export function tokenCounts(usage: Usage): TokenCounts {
  return {
    input_tokens: Number(usage.inputTokens),
    cached_input_tokens: Number(usage.cachedInputTokens),
    output_tokens: Number(usage.outputTokens),
    reasoning_output_tokens: Number(usage.reasoningOutputTokens),
  };
}
