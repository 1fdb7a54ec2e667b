// The notices a host may act on, each with a stable code (NoticeEvent.code): the plugin saw
// something it does not understand, or ignored one of the host's messages. Other notices (codex's
// retries, warnings about the turn) carry no code. The README's notice table is checked against it.

/** Every notice code, with when it is sent. */
export const NOTICE_CODES = {
  CODEX_SCHEMA_DRIFT:
    "codex's output no longer matches what this plugin understands (once per kind per turn)",
  HOST_TOOL_RESULT_UNKNOWN: "a tool_result named a request id no host tool call is waiting on",
  HOST_START_REPEATED: "a second `start` arrived on a RunTurn stream whose turn is running",
} as const;

export type NoticeCode = keyof typeof NOTICE_CODES;
