// The plugin's canonical turn events: what a turn reports, independent of codex's wire format and of
// protobuf. internal/provider/to-proto.ts is the one place they become wire messages.
import type { ContextWindowFill } from "./context-window.js";
import type { NoticeCode } from "./notice-codes.js";
import type { TurnError } from "./turn-error.js";
import type { Usage } from "./usage.js";

/** Codex's sandbox modes, plus `bypass` (no sandbox and no approvals). */
export const SANDBOX_MODES = [
  "bypass",
  "read-only",
  "workspace-write",
  "danger-full-access",
] as const;
export type SandboxMode = (typeof SANDBOX_MODES)[number];

/** The sandbox policy a turn runs under (proto SandboxPolicy). */
export interface SandboxPolicy {
  sandbox: SandboxMode;
  /** Always "never": `codex exec` has nobody to ask. */
  approval: "never";
  /** Writable directories besides the workspace (workspace-write only). */
  writableDirs: string[];
  /** Whether the commands codex runs may use the network. */
  networkAccess: boolean;
}

export type TurnDiffStatus = "ok" | "not_git" | "truncated" | "unavailable";

/** What a turn changed in its working tree (proto TurnDiff). */
export interface TurnDiff {
  status: TurnDiffStatus;
  /** `git diff` text, paths relative to the workspace; at most maxBytes. */
  unified: string;
  /** Changed paths relative to the workspace. */
  files: string[];
  /** Size of the whole diff, also when `unified` was cut. */
  bytes: number;
}

export type ToolPhase = "started" | "updated" | "completed";

/** Tool and progress activity, one variant per codex item type. */
export type ToolDetail =
  | {
      type: "command_execution";
      command: string;
      aggregatedOutput: string;
      exitCode: number | null;
    }
  | {
      type: "mcp_tool_call";
      server: string;
      tool: string;
      argumentsJson: string;
      resultJson: string;
      error: string;
    }
  | { type: "file_change"; changes: { path: string; kind: string }[] }
  | { type: "web_search"; query: string; actionJson: string }
  | { type: "todo_list"; items: { text: string; completed: boolean }[] }
  | { type: "collab_tool_call"; tool: string; rawJson: string };

export type TurnOutcome = "completed" | "failed" | "cancelled" | "crashed";

/** What a turn did about a lost thread (config thread_lost_policy). */
export type ThreadLostAction = "started_new_thread" | "failed";

/** How codex recorded a tool call: a response item of either kind, or a code-mode nested call. */
export type ToolCallKind = "function_call" | "custom_tool_call" | "nested";

/** The streamed pieces of an agent message, of reasoning, and of a command's output. */
export const DELTA_KINDS = ["text_delta", "reasoning_delta", "command_output_delta"] as const;
export type DeltaKind = (typeof DELTA_KINDS)[number];

/** One event of a turn. Every turn ends with exactly one `turn_end`. */
export type CanonicalEvent =
  | {
      kind: "turn_started";
      threadId: string;
      resumed: boolean;
      /** The codex --model value; "" for codex's default. */
      model: string;
      sandbox: string;
      codexVersion: string;
      /** The agent's git worktree the turn runs in; "" when it runs in the workspace. */
      worktreePath?: string;
      /** The effective sandbox policy. */
      policy?: SandboxPolicy;
    }
  | { kind: "text"; itemId: string; text: string }
  | { kind: "reasoning"; itemId: string; text: string }
  /**
   * Streamed pieces of an item while codex writes it (app-server backend only); the whole item
   * still follows as `text`, `reasoning` or `tool`, and the pieces of one item concatenate to it.
   */
  | { kind: DeltaKind; itemId: string; delta: string }
  | { kind: "tool"; itemId: string; phase: ToolPhase; status: string; detail: ToolDetail }
  | { kind: "usage"; turn: Usage; thread: Usage }
  | { kind: "error"; error: TurnError }
  | {
      kind: "notice";
      notice: "retrying" | "warning" | "thread_stored";
      message: string;
      /** Set for the notices a host may act on. */
      code?: NoticeCode;
    }
  | { kind: "passthrough"; type: string; rawJson: string }
  | {
      /** The stored thread could not be resumed; sent before the turn goes on or fails. */
      kind: "thread_lost";
      threadId: string;
      reason: string;
      action: ThreadLostAction;
    }
  | {
      /** A tool call from the thread's rollout, with codex's real call id. */
      kind: "tool_call";
      callId: string;
      name: string;
      /** "mcp__<server>" for MCP tools, else "". */
      namespace: string;
      /** JSON-encoded arguments (function calls, nested calls) or the raw input (custom tools). */
      arguments: string;
      callKind: ToolCallKind;
    }
  | {
      /** The output codex recorded for a tool call. */
      kind: "tool_result";
      callId: string;
      /** The output as text; content-item arrays joined with newlines. */
      output: string;
      /** The recorded output as JSON when it was not a plain string, else "". */
      outputJson: string;
    }
  | {
      /** Codex called a host tool through mcp-host; the host answers with the same requestId. */
      kind: "host_tool_call";
      requestId: string;
      /** Codex's call id (params._meta.callId), or "" when codex did not send one. */
      callId: string;
      toolName: string;
      argumentsJson: string;
    }
  | {
      kind: "turn_end";
      outcome: TurnOutcome;
      message: string;
      threadId: string;
      finalText: string;
      usage?: Usage;
      exitCode?: number;
      signal?: string;
      stderrTail: string;
      error?: TurnError;
      durationMs: number;
      /** The final message validated against the turn's output schema, as compact JSON. */
      structuredOutputJson?: string;
      /** What the turn changed in its working tree. */
      diff?: TurnDiff;
      /** The thread's context-window fill after the turn's last model request. */
      contextWindow?: ContextWindowFill;
    };

/**
 * Events that became ready together, in order: the item events of one read of codex's stdout, or a
 * single event. Never empty.
 */
export type EventBatch = readonly CanonicalEvent[];
