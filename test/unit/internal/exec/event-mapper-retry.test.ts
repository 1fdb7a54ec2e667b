import { describe, expect, it } from "vitest";

import { CodexEventMapper } from "../../../../internal/exec/event-mapper.js";

function feed(mapper: CodexEventMapper, values: unknown[]): void {
  values.forEach((value, index) =>
    mapper.mapLine({ kind: "line", lineNumber: index + 1, text: JSON.stringify(value) }),
  );
}

const WAITING = "Reconnecting... waiting for network (Connection failed: error sending request)";

describe("CodexEventMapper.lastRetryMessage", () => {
  it("remembers the last retry notice until codex makes progress with an item", () => {
    const mapper = new CodexEventMapper();
    expect(mapper.lastRetryMessage).toBeUndefined();
    feed(mapper, [
      { type: "thread.started", thread_id: "t" },
      { type: "error", message: WAITING },
    ]);
    expect(mapper.lastRetryMessage).toBe(WAITING);
    feed(mapper, [
      { type: "item.completed", item: { id: "item_0", type: "agent_message", text: "hi" } },
    ]);
    expect(mapper.lastRetryMessage).toBeUndefined();
  });

  it("is not set by fatal errors", () => {
    const mapper = new CodexEventMapper();
    feed(mapper, [
      { type: "error", message: "Quota exceeded. Check your plan and billing details." },
    ]);
    expect(mapper.lastRetryMessage).toBeUndefined();
  });
});
