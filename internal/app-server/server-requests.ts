// The answers to codex's server→client requests when nobody more specific handles them. Codex
// waits for every answer, so each request gets one: approvals and elicitations are declined (the
// plugin runs codex with approval "never"; a request that arrives anyway must not hang the turn),
// anything else gets a JSON-RPC error naming the method.
import { JSON_RPC_ERRORS, JsonRpcReplyError } from "./app-server-error.js";
import type { ExecCommandApprovalResponse } from "./protocol/ExecCommandApprovalResponse.js";
import type { CommandExecutionRequestApprovalResponse } from "./protocol/v2/CommandExecutionRequestApprovalResponse.js";
import type { FileChangeRequestApprovalResponse } from "./protocol/v2/FileChangeRequestApprovalResponse.js";
import type { McpServerElicitationRequestResponse } from "./protocol/v2/McpServerElicitationRequestResponse.js";

const DECLINE_COMMAND: CommandExecutionRequestApprovalResponse = { decision: "decline" };
const DECLINE_FILE_CHANGE: FileChangeRequestApprovalResponse = { decision: "decline" };
const DECLINE_ELICITATION: McpServerElicitationRequestResponse = {
  action: "decline",
  content: null,
  _meta: null,
};
const DENY_LEGACY: ExecCommandApprovalResponse = {
  decision: { denied: { rejection: "declined by the Plexum provider plugin" } },
};

/** The default answer to a server request; throws a JsonRpcReplyError for those it refuses. */
export function defaultServerRequestAnswer(method: string): unknown {
  switch (method) {
    case "item/commandExecution/requestApproval":
      return DECLINE_COMMAND;
    case "item/fileChange/requestApproval":
      return DECLINE_FILE_CHANGE;
    case "mcpServer/elicitation/request":
      return DECLINE_ELICITATION;
    case "execCommandApproval":
    case "applyPatchApproval":
      return DENY_LEGACY;
    default:
      throw new JsonRpcReplyError(
        JSON_RPC_ERRORS.methodNotFound,
        `the Plexum provider plugin does not handle ${JSON.stringify(method)} here`,
      );
  }
}
