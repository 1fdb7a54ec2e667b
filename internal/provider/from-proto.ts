// plexum.provider.v1 request messages → internal request types (terraform-plugin-go's fromproto seam).
import { isAbsolute } from "node:path";

import { Message_Role, type StartTurn } from "../../src/gen/plexum/provider/v1/provider_pb.js";
import type { TurnOptions, TurnRequest } from "../codex/turn-request.js";
import { AppError } from "../errors.js";

/** The prompt is the last user message; the thread on codex's side holds the earlier ones. */
function promptOf(start: StartTurn): string {
  for (let i = start.conversation.length - 1; i >= 0; i--) {
    const message = start.conversation[i];
    if (message?.role === Message_Role.USER) return message.text;
  }
  throw new AppError(
    "PROMPT_INVALID",
    start.conversation.length === 0
      ? "the conversation is empty: a turn needs at least one user message"
      : "the conversation has no user message to use as the prompt",
    { fields: ["conversation"] },
  );
}

function optionsOf(start: StartTurn): TurnOptions {
  const options: TurnOptions = {};
  const wire = start.options;
  if (wire === undefined) return options;
  if (wire.sandbox !== undefined && wire.sandbox !== "") options.sandbox = wire.sandbox;
  if (wire.turnTimeoutSeconds !== undefined && wire.turnTimeoutSeconds > 0) {
    options.turnTimeoutMs = wire.turnTimeoutSeconds * 1000;
  }
  if (Object.keys(wire.configOverrides).length > 0) {
    options.configOverrides = { ...wire.configOverrides };
  }
  return options;
}

/** Converts and checks the start message of a RunTurn stream. */
export function turnRequestFromProto(start: StartTurn): TurnRequest {
  const agentId = start.agent?.agentId ?? "";
  const workspace = start.agent?.workspace ?? "";
  if (workspace === "" || !isAbsolute(workspace)) {
    throw new AppError(
      "WORKSPACE_INVALID",
      `agent.workspace must be an absolute directory path, got ${JSON.stringify(workspace)}`,
      { fields: ["agent.workspace"] },
    );
  }
  return {
    agentId,
    workspace,
    model: start.model,
    prompt: promptOf(start),
    options: optionsOf(start),
  };
}
