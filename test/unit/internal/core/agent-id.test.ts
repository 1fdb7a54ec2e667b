import { describe, expect, it } from "vitest";

import { agentDirName, validateAgentId } from "../../../../internal/core/agent-id.js";
import { isAppError } from "../../../../internal/core/app-error.js";

function rejection(agentId: string): string {
  try {
    validateAgentId(agentId);
  } catch (error) {
    if (isAppError(error) && error.code === "AGENT_ID_INVALID") return error.message;
    throw error;
  }
  throw new Error(`expected ${JSON.stringify(agentId)} to be rejected`);
}

describe("validateAgentId", () => {
  it.each([
    ["", "empty"],
    ["a".repeat(257), "257 characters"],
    ["nul\u0000byte", "control"],
    ["new\nline", "control"],
    ["c1\u0085control", "control"],
    ["a/b", "'/'"],
    ["a\\b", "'/'"],
    ["..", "'..'"],
    ["x..y", "'..'"],
    ["lone\uD800surrogate", "surrogate"],
  ])("rejects %j with a clear message", (agentId, fragment) => {
    expect(rejection(agentId)).toContain(fragment);
  });

  it.each([
    "alice",
    "team.alice",
    "agent-42_x",
    "アリス",
    "émoji 🤖 agent",
    "a".repeat(256),
    "🤖".repeat(256),
  ])("accepts %j", (agentId) => {
    expect(() => validateAgentId(agentId)).not.toThrow();
  });

  it("rejects a 16 MiB id without quoting it whole", () => {
    const message = rejection("a".repeat(16 * 1024 * 1024));
    expect(message).toContain("over 256 characters");
    expect(message.length).toBeLessThan(200);
  });
});

describe("agentDirName", () => {
  it("keeps a readable prefix and appends 16 hex of sha256", () => {
    expect(agentDirName("team-alice_1")).toMatch(/^team-alice_1-[0-9a-f]{16}$/);
    expect(agentDirName("アリス")).toMatch(/^agent-[0-9a-f]{16}$/);
    expect(agentDirName("team.alice")).toMatch(/^team_alice-[0-9a-f]{16}$/);
  });

  it("gives different names to ids whose sanitised prefixes collide", () => {
    const ids = ["team.alice", "team alice", "team_alice", "team/alice".replace("/", "?")];
    const names = new Set(ids.map(agentDirName));
    expect(names.size).toBe(ids.length);
  });

  it("bounds the length and uses only filesystem-safe characters", () => {
    for (const id of ["a".repeat(256), "🤖".repeat(256), " weird  id !!", "-leading"]) {
      const name = agentDirName(id);
      expect(name.length).toBeLessThanOrEqual(48 + 1 + 16);
      expect(name).toMatch(/^[A-Za-z0-9][A-Za-z0-9_-]*$/);
    }
  });
});
