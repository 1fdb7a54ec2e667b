// The app-server methods this plugin calls, each with its params and result type from the
// generated protocol (npm run generate:app-server). Params come from codex's own ClientRequest
// union; results are not in a union, so each method used is listed here, and only those.
import type { ClientRequest } from "./protocol/ClientRequest.js";
import type { InitializeResponse } from "./protocol/InitializeResponse.js";
import type { ServerNotification } from "./protocol/ServerNotification.js";
import type { ServerRequest } from "./protocol/ServerRequest.js";
import type { ThreadArchiveResponse } from "./protocol/v2/ThreadArchiveResponse.js";
import type { ThreadCompactStartResponse } from "./protocol/v2/ThreadCompactStartResponse.js";
import type { ThreadResumeResponse } from "./protocol/v2/ThreadResumeResponse.js";
import type { ThreadStartResponse } from "./protocol/v2/ThreadStartResponse.js";
import type { ThreadUnarchiveResponse } from "./protocol/v2/ThreadUnarchiveResponse.js";
import type { TurnInterruptResponse } from "./protocol/v2/TurnInterruptResponse.js";
import type { TurnStartResponse } from "./protocol/v2/TurnStartResponse.js";

/** The result type of each client request method this plugin sends. */
export interface ClientResults {
  initialize: InitializeResponse;
  "thread/resume": ThreadResumeResponse;
  "thread/compact/start": ThreadCompactStartResponse;
  // The app-server backend (app-server-turn.ts).
  "thread/start": ThreadStartResponse;
  "thread/archive": ThreadArchiveResponse;
  "thread/unarchive": ThreadUnarchiveResponse;
  "turn/start": TurnStartResponse;
  "turn/interrupt": TurnInterruptResponse;
}

/** A client request method this plugin sends. */
export type ClientMethod = keyof ClientResults & ClientRequest["method"];

/** The params of a client request method. */
export type ClientParams<M extends ClientMethod> = Extract<ClientRequest, { method: M }>["params"];

/** A notification from the server, typed by method (unknown methods arrive as their JSON). */
export type ServerNotificationMessage = ServerNotification;

/** A server→client request method codex may send. */
export type ServerRequestMethod = ServerRequest["method"];

/** The params of a server notification method. */
export type NotificationParams<M extends ServerNotification["method"]> = Extract<
  ServerNotification,
  { method: M }
>["params"];
