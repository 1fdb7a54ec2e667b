import { describe, expect, it } from "vitest";

import {
  commandOutputText,
  inputItems,
  lastInputItem,
  lastUserPrompt,
  messageTexts,
  toolOutputFor,
  toolOutputs,
  userPrompts,
} from "../../../../internal/mock-model/request-input.js";
import {
  assistantItem,
  commandOutputItem,
  DEVELOPER_ITEM,
  ENVIRONMENT_CONTEXT,
  functionCallItem,
  responsesRequest,
  userItem,
} from "../../../helpers/responses-request-fixtures.js";

describe("request input helpers", () => {
  const request = responsesRequest([
    DEVELOPER_ITEM,
    ENVIRONMENT_CONTEXT,
    userItem("My name is Alice."),
    assistantItem("Hi Alice."),
    userItem("List files"),
    functionCallItem("call_1", "ls"),
    commandOutputItem("call_1", "a.txt\nb.txt\n"),
  ]);

  it("returns prompts without codex's injected context blocks", () => {
    expect(messageTexts(request, "user")).toHaveLength(3);
    expect(userPrompts(request)).toEqual(["My name is Alice.", "List files"]);
    expect(lastUserPrompt(request)).toBe("List files");
    expect(messageTexts(request, "assistant")).toEqual(["Hi Alice."]);
  });

  it("finds tool outputs by call id and strips the exec_command header", () => {
    expect(toolOutputs(request).map((output) => output.callId)).toEqual(["call_1"]);
    const output = toolOutputFor(request, "call_1");
    expect(output?.type).toBe("function_call_output");
    expect(commandOutputText(output?.output ?? "")).toBe("a.txt\nb.txt\n");
    expect(toolOutputFor(request, "call_other")).toBeUndefined();
    expect(lastInputItem(request)?.["type"]).toBe("function_call_output");
  });

  it("flattens content-item array outputs", () => {
    const mcp = responsesRequest([
      {
        type: "function_call_output",
        call_id: "c",
        output: [
          { type: "input_text", text: "Wall time: 0.1 seconds\nOutput:" },
          { type: "input_text", text: "result" },
        ],
      },
    ]);
    expect(toolOutputFor(mcp, "c")?.output).toBe("Wall time: 0.1 seconds\nOutput:\nresult");
  });

  it("tolerates bodies without a usable input", () => {
    const empty = { ...responsesRequest([]), body: undefined };
    expect(inputItems(empty)).toEqual([]);
    expect(lastUserPrompt(empty)).toBeUndefined();
    const odd = responsesRequest([
      "text",
      null,
      3,
      { type: "message", role: "user", content: "x" },
    ]);
    expect(userPrompts(odd)).toEqual(["x"]);
  });
});
