// The scripted model behind `npm run demo`. It decides every reply from the request alone (no
// state kept between requests), so its second-turn answer can only come from the conversation
// history codex resent on `exec resume` — which is what the demo sets out to show.
import type { MockOutputItem, MockReply } from "./mock-reply.js";
import type { RecordedRequest } from "./recorded-request.js";
import { execCommand, message, reasoning, respond } from "./reply-builders.js";
import {
  commandOutputText,
  inputItems,
  isCompactionRequest,
  lastInputItem,
  toolOutputFor,
  userPrompts,
} from "./request-input.js";

/** The two prompts the demo sends, one per turn. */
export const DEMO_PROMPTS = {
  first: "My name is Alice. Please list the files in this workspace.",
  second: "What is my name?",
} as const;

const LIST_CALL_PREFIX = "call_demo_ls_";

/** Rough token count (4 characters a token), so the demo reports plausible, growing usage. */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

/** The demo model: a MockScriptFunction. */
export function demoScript(request: RecordedRequest, index: number): MockReply {
  if (isCompactionRequest(request)) {
    // CompactThread: the summary replaces the history, so it carries what later turns need.
    const name = findName(userPrompts(request));
    return withUsage(request, [
      message(
        `Summary: ${name === undefined ? "the user has not said their name" : `the user's name is ${name}`}.`,
      ),
    ]);
  }
  const prompts = userPrompts(request);
  const prompt = prompts.at(-1) ?? "";
  const name = findName(prompts);

  const last = lastInputItem(request);
  const lastCallId = last?.["call_id"];
  if (
    last?.["type"] === "function_call_output" &&
    typeof lastCallId === "string" &&
    lastCallId.startsWith(LIST_CALL_PREFIX)
  ) {
    const listing = commandOutputText(toolOutputFor(request, lastCallId)?.output ?? "").trim();
    const greeting = name === undefined ? "Hello!" : `Nice to meet you, ${name}!`;
    const body =
      listing === ""
        ? "`ls` printed nothing: this workspace is empty."
        : `\`ls\` found these files in this workspace:\n${listing}`;
    return withUsage(request, [message(`${greeting} ${body}`)]);
  }

  if (/\b(list|files|ls)\b/i.test(prompt)) {
    return withUsage(request, [
      reasoning("The user wants to see the workspace; running `ls` shows its files."),
      execCommand("ls", { callId: `${LIST_CALL_PREFIX}${index}` }),
    ]);
  }

  if (/\bname\b/i.test(prompt)) {
    const earlier = prompts.slice(0, -1).find((text) => findName([text]) !== undefined);
    const answer =
      name === undefined || earlier === undefined
        ? "I don't know your name: no earlier message in this conversation tells me."
        : `Your name is ${name}. You told me earlier in this conversation: "${earlier}"`;
    return withUsage(request, [message(answer)]);
  }

  return withUsage(request, [
    message(`You said: "${prompt}". I am Plexum's scripted demo model; ask me to list the files.`),
  ]);
}

// The name from the latest "my name is X" among the prompts.
function findName(prompts: readonly string[]): string | undefined {
  for (const text of [...prompts].reverse()) {
    const match = /\bmy name is ([\p{L}][\p{L}' -]*?)\s*(?:[.,!?\n]|$)/iu.exec(text);
    if (match?.[1] !== undefined) {
      return match[1];
    }
  }
  return undefined;
}

// Usage from the request and reply sizes. Input already seen by an earlier request (everything but
// the newest item, once the thread has history) counts as cached, as prompt caching would.
function withUsage(request: RecordedRequest, items: readonly MockOutputItem[]): MockReply {
  const input = inputItems(request);
  const inputTokens = estimateTokens(JSON.stringify(input));
  const hasHistory = input.some(
    (item) =>
      (item["type"] === "message" && item["role"] === "assistant") ||
      item["type"] === "function_call_output",
  );
  const cachedTokens = hasHistory ? estimateTokens(JSON.stringify(input.slice(0, -1))) : 0;
  const reasoningTokens = items
    .filter((item) => item.type === "reasoning")
    .reduce((sum, item) => sum + estimateTokens(JSON.stringify(item)), 0);
  return respond(items, {
    usage: {
      inputTokens,
      cachedTokens,
      outputTokens: estimateTokens(JSON.stringify(items)),
      reasoningTokens,
    },
  });
}
