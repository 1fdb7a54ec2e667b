// What a turn needs from the host, already validated and converted from protobuf.

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

/** A per-turn endpoint override (proto EndpointOverride); unset fields keep the configured ones. */
export interface EndpointOverride {
  baseUrl?: string;
  /** The key itself: it goes into codex's environment only. */
  apiKey?: string;
  wireApi?: string;
  httpHeaders?: Record<string, string>;
  queryParams?: Record<string, string>;
  /** The codex --model value, bypassing supported_models. */
  model?: string;
}

/** A dynamic tool the host implements, offered to codex through mcp-host for one turn. */
export interface HostToolSpec {
  name: string;
  description: string;
  /** JSON Schema of the arguments; always an object schema. */
  inputSchema: Record<string, unknown>;
}

/** One turn for one agent. */
export interface TurnRequest {
  agentId: string;
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
