// What a turn needs from the host, already validated and converted from protobuf.

/** Per-turn options the host may set. */
export interface TurnOptions {
  /** "bypass" | "read-only" | "workspace-write" | "danger-full-access". */
  sandbox?: string;
  turnTimeoutMs?: number;
  /** Extra `-c key=value` overrides; values are TOML literals. */
  configOverrides?: Record<string, string>;
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
}
