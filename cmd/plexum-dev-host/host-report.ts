// What the dev host tells its user, as plain facts: the text and JSON outputs render the same ones.
import type { TurnEvent } from "../../internal/provider/provider-protocol.js";

/** The token counts of a turn or a thread. */
export interface TokenCounts {
  input_tokens: number;
  cached_input_tokens: number;
  output_tokens: number;
  reasoning_output_tokens: number;
}

/** One turn as the summary reports it. */
export interface TurnSummary {
  prompt: string;
  /** The thread the turn ran in; "" when codex never announced one. */
  thread_id: string;
  /** True when the turn resumed a thread that existed before it. */
  resumed: boolean;
  /** completed, failed, cancelled or crashed; "none" when the stream ended without turn_end. */
  outcome: string;
  message: string;
  duration_ms: number;
  final_text: string;
  usage?: TokenCounts;
  error?: { class: string; code: string; message: string; retryable: boolean };
}

/** One fact, in the order the dev host learns them. */
export type HostFact =
  | { type: "mock_model"; url: string }
  | { type: "live" }
  | { type: "config_file"; file: string; provider?: string }
  | {
      type: "plugin";
      name: string;
      version: string;
      protocol_version: number;
      address: string;
    }
  | {
      type: "codex";
      ready: boolean;
      version: string;
      path: string;
      source: string;
      degraded_reason: string;
    }
  | { type: "diagnostic"; severity: "error" | "warning"; field: string; summary: string }
  /** `--new-thread` asked the plugin to forget the agent's thread; "" when it had none. */
  | { type: "thread_reset"; agent_id: string; previous_thread_id: string }
  | { type: "turn"; turn: number; agent_id: string; prompt: string }
  | { type: "event"; turn: number; event: TurnEvent }
  | { type: "plugin_stopped"; duration_ms: number; exit_code: number | null; signal: string | null }
  | {
      type: "summary";
      ok: boolean;
      agent_id: string;
      turns: TurnSummary[];
      /** Requests the embedded mock model served, when it ran. */
      mock_requests?: number;
    };

/** Where facts go: a person's terminal or a script's stdin. */
export interface HostReport {
  report(fact: HostFact): void;
}
