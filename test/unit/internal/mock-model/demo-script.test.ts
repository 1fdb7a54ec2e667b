import { describe, expect, it } from "vitest";

import { DEMO_PROMPTS, demoScript } from "../../../../internal/mock-model/demo-script.js";
import type { MockReply } from "../../../../internal/mock-model/mock-reply.js";
import {
  COMPACTION_PROMPT_START,
  isCompactionRequest,
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

function replyText(reply: MockReply): string {
  if (reply.kind !== "response") {
    throw new Error(`expected a response, got ${reply.kind}`);
  }
  return reply.items.map((item) => (item.type === "message" ? item.text : "")).join("");
}

const prefix = [DEVELOPER_ITEM, ENVIRONMENT_CONTEXT];

describe("demoScript", () => {
  it("answers codex's compaction request with a summary that keeps the user's name", () => {
    const compaction = responsesRequest([
      ...prefix,
      userItem(DEMO_PROMPTS.first),
      assistantItem("Nice to meet you, Alice!"),
      userItem(`${COMPACTION_PROMPT_START} Create a handoff summary for another LLM.`),
    ]);
    expect(isCompactionRequest(compaction)).toBe(true);
    expect(replyText(demoScript(compaction, 2))).toBe("Summary: the user's name is Alice.");
    const ordinary = responsesRequest([...prefix, userItem(DEMO_PROMPTS.second)]);
    expect(isCompactionRequest(ordinary)).toBe(false);
  });

  it("answers the first prompt with reasoning and an ls tool call", () => {
    const reply = demoScript(responsesRequest([...prefix, userItem(DEMO_PROMPTS.first)]), 0);
    expect(reply.kind).toBe("response");
    if (reply.kind !== "response") {
      return;
    }
    expect(reply.items.map((item) => item.type)).toEqual(["reasoning", "function_call"]);
    expect(reply.items[1]).toMatchObject({
      name: "exec_command",
      arguments: '{"cmd":"ls","login":false}',
      call_id: "call_demo_ls_0",
    });
    expect(reply.usage?.inputTokens).toBeGreaterThan(0);
    expect(reply.usage?.cachedTokens).toBe(0);
  });

  it("reports the listing, greeting the user by name, after the tool output", () => {
    const reply = demoScript(
      responsesRequest([
        ...prefix,
        userItem(DEMO_PROMPTS.first),
        functionCallItem("call_demo_ls_0", "ls"),
        commandOutputItem("call_demo_ls_0", "README.md\nsrc\n"),
      ]),
      1,
    );
    expect(replyText(reply)).toBe(
      "Nice to meet you, Alice! `ls` found these files in this workspace:\nREADME.md\nsrc",
    );
    expect(reply.kind === "response" && reply.usage?.cachedTokens).toBeGreaterThan(0);
  });

  it("answers the name question from the earlier message in the history", () => {
    const reply = demoScript(
      responsesRequest([
        ...prefix,
        userItem(DEMO_PROMPTS.first),
        functionCallItem("call_demo_ls_0", "ls"),
        commandOutputItem("call_demo_ls_0", "README.md\n"),
        assistantItem("Nice to meet you, Alice!"),
        userItem(DEMO_PROMPTS.second),
      ]),
      2,
    );
    expect(replyText(reply)).toBe(
      `Your name is Alice. You told me earlier in this conversation: "${DEMO_PROMPTS.first}"`,
    );
  });

  it("admits it does not know the name when the history is missing", () => {
    const reply = demoScript(responsesRequest([...prefix, userItem(DEMO_PROMPTS.second)]), 0);
    expect(replyText(reply)).toBe(
      "I don't know your name: no earlier message in this conversation tells me.",
    );
  });

  it("echoes anything else", () => {
    const reply = demoScript(responsesRequest([...prefix, userItem("Good morning")]), 0);
    expect(replyText(reply)).toContain('You said: "Good morning".');
  });
});
