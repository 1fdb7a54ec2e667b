// What a turn needs from the host, already validated and converted from protobuf.
import type { EndpointOverride } from "../codex/provider-setup.js";
import type { AgentId } from "../core/agent-id.js";
import type { HostToolSpec } from "../mcp/host-tools.js";

/** Per-turn options the host may set. */
export interface TurnOptions {
  /** "bypass" | "read-only" | "workspace-write" | "danger-full-access". */
  sandbox?: string;
  turnTimeoutMs?: number;
  /** Idle bound for this turn; 0 = none, undefined = the configured one. */
  idleTimeoutMs?: number;
  /** First-event deadline for this turn; 0 = none, undefined = the configured one. */
  firstEventTimeoutMs?: number;
  /** Extra `-c key=value` overrides; values are TOML literals. */
  configOverrides?: Record<string, string>;
  /** Another endpoint, key or model for this turn only. */
  endpoint?: EndpointOverride;
  /** Extra writable directories under workspace-write; replaces the configured ones. */
  writableDirs?: string[];
  /** Network access for commands under workspace-write. */
  networkAccess?: boolean;
  /** A JSON Schema (JSON text) the final message must match. */
  outputSchemaJson?: string;
  /** codex's model_reasoning_effort for this turn. */
  reasoningEffort?: string;
  /** The worktree policy for this turn. */
  worktree?: WorktreeOption;
  /** Other model knobs (turn-options.ts MODEL_SETTINGS). */
  modelSettings?: Record<string, string>;
}

/** Run the turn in the agent's git worktree (proto WorktreeOptions). */
export interface WorktreeOption {
  enabled: boolean;
  /** Where a new worktree starts; "" means the workspace's HEAD. */
  baseRef: string;
}

/** An image attached to the prompt: a file in the workspace, or the bytes themselves. */
export type ImageInput =
  | { source: "path"; path: string; mimeType: string }
  | { source: "data"; data: Uint8Array; mimeType: string };

/** One turn for one agent. */
export interface TurnRequest {
  agentId: AgentId;
  /** Absolute path; codex runs with it as cwd. */
  workspace: string;
  /** The Plexum model id; "" means the first supported model. */
  model: string;
  /** The last user message. */
  prompt: string;
  options: TurnOptions;
  /** Images attached to the prompt, sent with --image. */
  images?: readonly ImageInput[];
  /** Host tools of this turn; absent or empty registers no MCP server. */
  hostTools?: readonly HostToolSpec[];
}
