// What the mock Responses server saw of one HTTP request, kept for assertions and for scripts.
import type { IncomingHttpHeaders } from "node:http";

/** A JSON object as parsed from a request body. Nothing in it is validated. */
export type JsonObject = Readonly<Record<string, unknown>>;

/** One HTTP request received by the mock server, in arrival order. */
export interface RecordedRequest {
  /** 0-based position among all requests this server received (any path). */
  readonly seq: number;
  readonly method: string;
  /** Path as sent, without the query string, e.g. "/v1/responses". */
  readonly path: string;
  /** The query string without "?", "" when absent. */
  readonly query: string;
  /** Lower-cased header names, as Node parses them. */
  readonly headers: IncomingHttpHeaders;
  /** The body parsed as JSON when it is a JSON object; undefined otherwise. */
  readonly body: JsonObject | undefined;
  /** The body as UTF-8 text (after content-encoding is undone). */
  readonly rawBody: string;
  /** Date.now() when the whole body had arrived. */
  readonly receivedAt: number;
}
