// What the provider's handlers call: the plugin's state behind the wire. The gRPC handler table
// (internal/provider) converts requests and replies; this answers them.
import type { AuthStatus } from "../codex/auth-status.js";
import type { CodexBinaryStatus } from "../codex/binary.js";
import type { Engine } from "../turn/turn-engine.js";

/** A problem with the config, for Configure's diagnostics. */
export interface Diagnostic {
  severity: "warning" | "error";
  summary: string;
  /** What to do about it; "" when the summary says it all. */
  detail: string;
  /** The config field it is about; "" for none. */
  field: string;
}

/** GetInfo: what the plugin can do and whether codex is ready. */
export interface PluginInfo {
  /** What the plugin can do, and (`codex.<feature>`) what the codex it runs has. */
  capabilities: readonly string[];
  codex: CodexBinaryStatus;
  /** True once the host has called Configure. */
  configured: boolean;
  auth: AuthStatus;
}

/** Configure's answer. */
export interface ConfigureOutcome {
  diagnostics: Diagnostic[];
  codex: CodexBinaryStatus;
}

/** One model ListModels advertises. */
export interface ModelEntry {
  id: string;
  /** The codex --model value; "" for codex's default. */
  cliModel: string;
  default: boolean;
}

/** The plugin behind its handlers. */
export interface ProviderCore {
  info(): Promise<PluginInfo>;
  /** Applies a new config (JSON, already parsed); throws CONFIG_INVALID naming every problem. */
  configure(json: unknown): Promise<ConfigureOutcome>;
  models(): Promise<ModelEntry[]>;
  /** The turn engine of the current config. */
  engine(): Promise<Engine>;
  /** Cancels every turn and kills every codex process, within the host's 2 s. */
  shutdown(reason: string): Promise<void>;
}
