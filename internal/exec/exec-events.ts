// based on codex-rs/exec/src/exec_events.rs (ThreadEvent, ThreadItemDetails) as emitted by codex
// 0.169.0 `exec --json`. Wire field names are kept. Everything is optional because the mapper
// must survive any line codex prints.

export interface CodexUsage {
  input_tokens?: number;
  cached_input_tokens?: number;
  cache_write_input_tokens?: number;
  output_tokens?: number;
  reasoning_output_tokens?: number;
}

export interface CodexItem {
  /** exec-local counter (`item_0`, …); restarts in every process, so not stable across resume. */
  id?: string;
  type?: string;
  text?: string;
  message?: string;
  command?: string;
  aggregated_output?: string;
  exit_code?: number | null;
  status?: string;
  server?: string;
  tool?: string;
  arguments?: unknown;
  result?: unknown;
  error?: { message?: string } | null;
  changes?: { path?: string; kind?: string }[];
  query?: string;
  action?: unknown;
  items?: { text?: string; completed?: boolean }[];
}

export interface CodexEvent {
  type?: string;
  thread_id?: string;
  item?: CodexItem;
  usage?: CodexUsage;
  error?: { message?: string };
  message?: string;
}

export const ITEM_EVENT_TYPES = ["item.started", "item.updated", "item.completed"] as const;
export type ItemEventType = (typeof ITEM_EVENT_TYPES)[number];
