// plexum.provider.v1 request messages → internal request types (terraform-plugin-go's fromproto seam).
import { isAbsolute } from "node:path";

import {
  type EndpointOverride as EndpointOverridePb,
  type HostToolResult,
  type Message,
  Message_Role,
  type RunTurnRequest,
  type StartTurn,
} from "../../src/gen/plexum/provider/v1/provider_pb.js";
import { type EndpointOverride } from "../codex/provider-setup.js";
import {
  lengthProblem,
  MAX_CONFIG_JSON_BYTES,
  MAX_CONFIG_READ_BYTES,
  MAX_NAME_CHARS,
  MAX_PROMPT_IMAGES,
  MAX_REASON_CHARS,
  pathProblem,
  quote,
} from "../config/limits.js";
import { type AgentId, parseAgentId } from "../core/agent-id.js";
import { AppError } from "../core/app-error.js";
import type { HostToolAnswer } from "../mcp/host-tool-listener.js";
import { validateHostTools } from "../mcp/host-tools.js";
import type { CancelReason } from "../turn/agent-slots.js";
import { type ImageInput, type TurnOptions, type TurnRequest } from "../turn/turn-request.js";
import {
  checkBlockIdLimits,
  checkCompactModelLimits,
  checkStartTurnLimits,
} from "./request-limits.js";

/** The prompt is the last user message; the thread on codex's side holds the earlier ones. */
function promptOf(start: StartTurn): string {
  return promptMessage(start).text;
}

function promptMessage(start: StartTurn): Message {
  for (let i = start.conversation.length - 1; i >= 0; i--) {
    const message = start.conversation[i];
    if (message?.role === Message_Role.USER) return message;
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
  // Unlike turn_timeout_seconds, 0 is meaningful here: no such bound for this turn.
  if (wire.idleTimeoutSeconds !== undefined) {
    options.idleTimeoutMs = wire.idleTimeoutSeconds * 1000;
  }
  if (wire.firstEventTimeoutSeconds !== undefined) {
    options.firstEventTimeoutMs = wire.firstEventTimeoutSeconds * 1000;
  }
  if (Object.keys(wire.configOverrides).length > 0) {
    options.configOverrides = { ...wire.configOverrides };
  }
  const endpoint = endpointOf(wire.endpoint);
  if (endpoint !== undefined) options.endpoint = endpoint;
  if (wire.writableDirs.length > 0) options.writableDirs = [...wire.writableDirs];
  if (wire.networkAccess !== undefined) options.networkAccess = wire.networkAccess;
  if (wire.outputSchemaJson !== "") options.outputSchemaJson = wire.outputSchemaJson;
  if (wire.reasoningEffort !== "") options.reasoningEffort = wire.reasoningEffort;
  if (wire.worktree !== undefined) {
    options.worktree = { enabled: wire.worktree.enabled, baseRef: wire.worktree.baseRef };
  }
  if (Object.keys(wire.modelSettings).length > 0) {
    options.modelSettings = { ...wire.modelSettings };
  }
  return options;
}

/** The prompt's image attachments; images on earlier messages are already in codex's thread. */
function imagesOf(message: Message): ImageInput[] {
  if (message.images.length > MAX_PROMPT_IMAGES) {
    throw new AppError(
      "IMAGE_INVALID",
      `the prompt has ${message.images.length} images; at most ${MAX_PROMPT_IMAGES} are accepted`,
      { fields: ["conversation.images"] },
    );
  }
  return message.images.map((image, index) => {
    const mimeType = image.mimeType;
    const field = `conversation.images.${index}`;
    const mimeProblem = lengthProblem(mimeType, MAX_NAME_CHARS);
    if (mimeProblem !== undefined) {
      throw new AppError("IMAGE_INVALID", `image ${index + 1}: mime_type ${mimeProblem}`, {
        fields: [`${field}.mime_type`],
      });
    }
    switch (image.source.case) {
      case "path": {
        const problem = pathProblem(image.source.value);
        if (problem !== undefined) {
          throw new AppError("IMAGE_INVALID", `image ${index + 1}: the path ${problem}`, {
            fields: [`${field}.path`],
          });
        }
        return { source: "path", path: image.source.value, mimeType };
      }
      case "data":
        return { source: "data", data: image.source.value, mimeType };
      default:
        throw new AppError(
          "IMAGE_INVALID",
          `image ${index + 1} of the prompt has neither a path nor data`,
          { fields: [field] },
        );
    }
  });
}

// Empty strings and maps mean "not overridden", as proto3 cannot tell them apart.
function endpointOf(wire: EndpointOverridePb | undefined): EndpointOverride | undefined {
  if (wire === undefined) return undefined;
  const endpoint: EndpointOverride = {};
  if (wire.baseUrl !== "") endpoint.baseUrl = wire.baseUrl;
  if (wire.apiKey !== "") endpoint.apiKey = wire.apiKey;
  if (wire.wireApi !== "") endpoint.wireApi = wire.wireApi;
  if (wire.model !== "") endpoint.model = wire.model;
  if (Object.keys(wire.httpHeaders).length > 0) endpoint.httpHeaders = { ...wire.httpHeaders };
  if (Object.keys(wire.queryParams).length > 0) endpoint.queryParams = { ...wire.queryParams };
  return Object.keys(endpoint).length === 0 ? undefined : endpoint;
}

/** Converts and checks the start message of a RunTurn stream. */
export function turnRequestFromProto(start: StartTurn): TurnRequest {
  const workspace = start.agent?.workspace ?? "";
  if (workspace === "" || !isAbsolute(workspace)) {
    throw new AppError(
      "WORKSPACE_INVALID",
      `agent.workspace must be an absolute directory path, got ${quote(workspace)}`,
      { fields: ["agent.workspace"] },
    );
  }
  const workspaceProblem = pathProblem(workspace);
  if (workspaceProblem !== undefined) {
    throw new AppError("WORKSPACE_INVALID", `agent.workspace ${workspaceProblem}`, {
      fields: ["agent.workspace"],
    });
  }
  checkStartTurnLimits(start);
  const hostTools = validateHostTools(
    start.tools.map((tool) => ({
      name: tool.name,
      description: tool.description,
      inputSchemaJson: tool.inputSchemaJson,
    })),
  );
  const images = imagesOf(promptMessage(start));
  return {
    agentId: agentIdFromProto(start.agent?.agentId ?? ""),
    workspace,
    model: start.model,
    prompt: promptOf(start),
    options: optionsOf(start),
    ...(images.length === 0 ? {} : { images }),
    ...(hostTools.length === 0 ? {} : { hostTools }),
  };
}

/** The agent id of a call, validated: every call checks it here, once. */
export function agentIdFromProto(agentId: string): AgentId {
  return parseAgentId(agentId);
}

/** The start message of a RunTurn stream, which must come first. */
export function startTurnFromProto(first: RunTurnRequest | undefined): StartTurn {
  if (first?.request.case !== "start") {
    throw new AppError(
      "REQUEST_INVALID",
      "the first RunTurn message must carry `start` (agent, model, conversation, options)",
      { fields: ["start"] },
    );
  }
  return first.request.value;
}

/**
 * Configure's config_json as text; empty means the defaults. parseConfig checks its size and
 * parses it; one far too large to be worth reading is refused here, undecoded.
 */
export function configFromProto(configJson: Uint8Array): string {
  if (configJson.byteLength > MAX_CONFIG_READ_BYTES) {
    throw new AppError(
      "CONFIG_INVALID",
      `config_json is ${configJson.byteLength} bytes; at most ${MAX_CONFIG_JSON_BYTES} are accepted`,
      { fields: ["config_json"] },
    );
  }
  return Buffer.from(configJson).toString("utf8");
}

/** Consume's tool call ids, within their bounds. */
export function blockIdsFromProto(blockIds: readonly string[]): readonly string[] {
  checkBlockIdLimits(blockIds);
  return blockIds;
}

/** CompactThread's model id ("" = the default), within its bound. */
export function compactModelFromProto(model: string): string {
  checkCompactModelLimits(model);
  return model;
}

/** A host's reason for cancelling (at most MAX_REASON_CHARS kept), or `fallback` when it gave none. */
export function cancelReasonFromProto(
  reason: string,
  kind: CancelReason["kind"],
  fallback: string,
): CancelReason {
  // Shortened, never refused: a cancel must not fail for its reason.
  const message =
    reason.length > MAX_REASON_CHARS ? `${reason.slice(0, MAX_REASON_CHARS)}…` : reason;
  return { kind, message: message === "" ? fallback : message };
}

/** The host's answer to a host_tool_call. */
export function hostToolAnswerFromProto(result: HostToolResult): HostToolAnswer {
  return { text: result.text, isError: result.isError, contentJson: result.contentJson };
}
