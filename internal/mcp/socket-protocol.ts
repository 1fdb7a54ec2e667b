// The messages of the plugin ⇄ mcp-host socket, one per frame (frame.ts). The bridge opens with
// `hello`; the plugin answers `welcome` or `refused` (and closes). After that the bridge sends
// requests with an id of its choosing and the plugin answers each with the same id, in any order.
import { z } from "zod";

/** Bumped on any incompatible change; the plugin refuses other versions. */
export const SOCKET_PROTOCOL_VERSION = 1;

const requestId = z.number().int().nonnegative();
const jsonObject = z.record(z.string(), z.unknown());

/** Bridge → plugin. Strict: unexpected fields make the frame malformed. */
export const bridgeMessageSchema = z.discriminatedUnion("type", [
  z.strictObject({
    type: z.literal("hello"),
    protocol: z.number().int(),
    agent_id: z.string(),
  }),
  z.strictObject({ type: z.literal("list_tools"), id: requestId }),
  z.strictObject({
    type: z.literal("call_tool"),
    id: requestId,
    name: z.string().min(1),
    arguments: jsonObject,
    // codex's params._meta.callId: the model's function_call call_id.
    call_id: z.string().optional(),
  }),
]);
export type BridgeMessage = z.infer<typeof bridgeMessageSchema>;

/** One MCP content block (text, image, resource, …), passed through as given. */
export const contentBlockSchema = z.looseObject({ type: z.string() });
export type ContentBlock = z.infer<typeof contentBlockSchema>;

/** A tool as the plugin describes it to the bridge. */
export const toolInfoSchema = z.object({
  name: z.string(),
  description: z.string(),
  input_schema: jsonObject,
});
export type ToolInfo = z.infer<typeof toolInfoSchema>;

/** Why the plugin refused a connection. */
export type RefusalCode =
  "AGENT_MISMATCH" | "PROTOCOL_VERSION" | "MALFORMED_FRAME" | "HELLO_TIMEOUT";

/** Plugin → bridge. */
export const pluginMessageSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("welcome"), protocol: z.number().int() }),
  z.object({ type: z.literal("refused"), code: z.string(), message: z.string() }),
  z.object({ type: z.literal("tools"), id: requestId, tools: z.array(toolInfoSchema) }),
  z.object({
    type: z.literal("tool_result"),
    id: requestId,
    content: z.array(contentBlockSchema),
    is_error: z.boolean(),
  }),
]);
export type PluginMessage = z.infer<typeof pluginMessageSchema>;

/** The outcome of parsing one decoded frame. */
export type ParseResult<T> = { ok: true; message: T } | { ok: false; problem: string };

function parseWith<T>(schema: z.ZodType<T>, value: unknown): ParseResult<T> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return { ok: true, message: parsed.data };
  const issue = parsed.error.issues[0];
  const where = issue === undefined || issue.path.length === 0 ? "" : ` at ${issue.path.join(".")}`;
  return { ok: false, problem: `${issue?.message ?? "invalid message"}${where}` };
}

/** Checks a frame sent by the bridge. */
export function parseBridgeMessage(value: unknown): ParseResult<BridgeMessage> {
  return parseWith(bridgeMessageSchema, value);
}

/** Checks a frame sent by the plugin. */
export function parsePluginMessage(value: unknown): ParseResult<PluginMessage> {
  return parseWith(pluginMessageSchema, value);
}
