// The vocabulary of a scripted model: what the mock answers to one POST /responses.
import type { RecordedRequest } from "./recorded-request.js";

/** An output item of a scripted response. Ids left out are filled in by the server. */
export type MockOutputItem =
  | { readonly type: "message"; readonly text: string; readonly id?: string }
  | {
      readonly type: "function_call";
      readonly name: string;
      /** A JSON-encoded string, exactly as the Responses API sends it. */
      readonly arguments: string;
      readonly call_id: string;
      /** Set for namespaced tools, e.g. "mcp__<server>". */
      readonly namespace?: string;
      readonly id?: string;
    }
  | {
      readonly type: "custom_tool_call";
      readonly name: string;
      readonly input: string;
      readonly call_id: string;
      readonly id?: string;
    }
  | { readonly type: "reasoning"; readonly summary: readonly string[]; readonly id?: string }
  /** Any other Responses output item, sent verbatim (web_search_call, local_shell_call, …). */
  | {
      readonly type: "raw";
      readonly item: { readonly type: string } & Readonly<Record<string, unknown>>;
    };

/** Token counts reported in response.completed; omitted fields use the defaults in sse.ts. */
export interface MockUsage {
  readonly inputTokens?: number;
  readonly cachedTokens?: number;
  /** Sent as input_tokens_details.cache_write_tokens only when set. */
  readonly cacheWriteTokens?: number;
  readonly outputTokens?: number;
  readonly reasoningTokens?: number;
}

/** A complete, successful streamed response. */
export interface MockResponseReply {
  readonly kind: "response";
  readonly items: readonly MockOutputItem[];
  readonly usage?: MockUsage;
  /** Wait this long after the request arrived before sending anything. */
  readonly delayMs?: number;
  /**
   * Stream slowly: wait this long before each text, reasoning or argument delta (a model writing
   * one token every so often). The server records when it sent each response's first text delta.
   */
  readonly deltaIntervalMs?: number;
  /**
   * Extra HTTP response headers, e.g. codex's `x-codex-primary-used-percent` family (see
   * rateLimitHeaders in reply-builders.ts), which codex records as the thread's rate limits.
   */
  readonly headers?: Readonly<Record<string, string>>;
}

/** A plain HTTP error answer instead of a stream. */
export interface MockHttpErrorReply {
  readonly kind: "http-error";
  readonly status: number;
  readonly body: string;
  readonly headers?: Readonly<Record<string, string>>;
}

/** Accept the request and never finish it. */
export interface MockHangReply {
  readonly kind: "hang";
  /**
   * false: send nothing at all (codex has no timeout before response headers).
   * true: open the SSE stream, send response.created, then go silent (stream_idle_timeout_ms fires).
   */
  readonly afterHeaders: boolean;
}

/** Stream some output items, then end the body without response.completed. */
export interface MockCloseEarlyReply {
  readonly kind: "close-early";
  readonly items: readonly MockOutputItem[];
}

/** A stream that ends in response.failed with an error code. */
export interface MockResponseFailedReply {
  readonly kind: "response-failed";
  readonly code: string;
  readonly message: string;
}

/** A stream that ends in response.incomplete. */
export interface MockResponseIncompleteReply {
  readonly kind: "response-incomplete";
  readonly reason: string;
}

/** Everything the mock can answer to one model request. */
export type MockReply =
  | MockResponseReply
  | MockHttpErrorReply
  | MockHangReply
  | MockCloseEarlyReply
  | MockResponseFailedReply
  | MockResponseIncompleteReply;

/** Picks the reply for the index-th POST /responses (0-based). May be async. */
export type MockScriptFunction = (
  request: RecordedRequest,
  index: number,
) => MockReply | Promise<MockReply>;

/** A scripted model: a function, or a list consumed one reply per model request. */
export type MockScript = MockScriptFunction | readonly MockReply[];
