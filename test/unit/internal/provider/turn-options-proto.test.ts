import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";

import { isAppError } from "../../../../internal/core/app-error.js";
import { turnRequestFromProto } from "../../../../internal/provider/from-proto.js";
import { eventToProto } from "../../../../internal/provider/to-proto.js";
import {
  Message_Role,
  StartTurnSchema,
  TurnEventSchema,
} from "../../../../src/gen/plexum/provider/v1/provider_pb.js";

const PNG = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

describe("turnRequestFromProto: turn options", () => {
  it("takes the prompt's images and every new option", () => {
    const request = turnRequestFromProto(
      create(StartTurnSchema, {
        agent: { agentId: "a", workspace: "/w" },
        conversation: [
          {
            role: Message_Role.USER,
            text: "old",
            images: [{ source: { case: "path", value: "old.png" } }],
          },
          {
            role: Message_Role.USER,
            text: "look",
            images: [
              { source: { case: "path", value: "pics/a.png" } },
              { source: { case: "data", value: PNG }, mimeType: "image/png" },
            ],
          },
        ],
        options: {
          writableDirs: ["/srv"],
          networkAccess: false,
          outputSchemaJson: '{"type":"object"}',
          reasoningEffort: "high",
          worktree: { enabled: true, baseRef: "main" },
          modelSettings: { verbosity: "low" },
        },
      }),
    );
    expect(request.prompt).toBe("look");
    expect(request.images).toEqual([
      { source: "path", path: "pics/a.png", mimeType: "" },
      { source: "data", data: PNG, mimeType: "image/png" },
    ]);
    expect(request.options).toEqual({
      writableDirs: ["/srv"],
      // Set explicitly to false: an override, not "unset".
      networkAccess: false,
      outputSchemaJson: '{"type":"object"}',
      reasoningEffort: "high",
      worktree: { enabled: true, baseRef: "main" },
      modelSettings: { verbosity: "low" },
    });
  });

  it("leaves unset options out, and refuses an image without a source", () => {
    const plain = turnRequestFromProto(
      create(StartTurnSchema, {
        agent: { agentId: "a", workspace: "/w" },
        conversation: [{ role: Message_Role.USER, text: "hi" }],
        options: {},
      }),
    );
    expect(plain.options).toEqual({});
    expect(plain.images).toBeUndefined();

    let caught: unknown;
    try {
      turnRequestFromProto(
        create(StartTurnSchema, {
          agent: { agentId: "a", workspace: "/w" },
          conversation: [{ role: Message_Role.USER, text: "hi", images: [{ mimeType: "x" }] }],
        }),
      );
    } catch (error) {
      caught = error;
    }
    expect(isAppError(caught) && caught.code).toBe("IMAGE_INVALID");
  });
});

// The wire message the serializer writes from eventToProto's init object.
const toEvent = (...args: Parameters<typeof eventToProto>) =>
  create(TurnEventSchema, eventToProto(...args));

describe("eventToProto: turn options", () => {
  it("stamps seq and the time as timestampFromMs does", () => {
    for (const now of [0, 999, 1_790_000_000_123, 1_790_000_000_999]) {
      const event = toEvent({ kind: "text", itemId: "i", text: "x" }, 7, now);
      expect(event.seq).toBe(7n);
      expect(event.time).toEqual(timestampFromMs(now));
    }
  });

  it("carries the policy and worktree on turn_started, output and diff on turn_end", () => {
    const started = toEvent(
      {
        kind: "turn_started",
        threadId: "t",
        resumed: true,
        model: "",
        sandbox: "workspace-write",
        codexVersion: "0.169.0",
        worktreePath: "/state/agents/a/worktree",
        policy: {
          sandbox: "workspace-write",
          approval: "never",
          writableDirs: ["/srv"],
          networkAccess: true,
        },
      },
      1,
    );
    expect(started.event.case === "turnStarted" && started.event.value).toMatchObject({
      worktreePath: "/state/agents/a/worktree",
      policy: {
        sandbox: "workspace-write",
        approval: "never",
        writableDirs: ["/srv"],
        networkAccess: true,
      },
    });
    const end = toEvent(
      {
        kind: "turn_end",
        outcome: "completed",
        message: "turn completed",
        threadId: "t",
        finalText: '{"a":1}',
        stderrTail: "",
        durationMs: 5,
        structuredOutputJson: '{"a":1}',
        diff: { status: "truncated", unified: "diff --git\n", files: ["x"], bytes: 99 },
      },
      2,
    );
    expect(end.event.case === "turnEnd" && end.event.value).toMatchObject({
      structuredOutputJson: '{"a":1}',
      diff: { status: "truncated", unified: "diff --git\n", files: ["x"], bytes: 99n },
    });
  });
});
