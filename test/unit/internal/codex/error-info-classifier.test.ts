// app-server errors: the structured codexErrorInfo decides, the message rules refine.
import { describe, expect, it } from "vitest";

import {
  classifyAppServerError,
  codeOfErrorInfo,
} from "../../../../internal/codex/error-info-classifier.js";

describe("codeOfErrorInfo", () => {
  it.each([
    ["contextWindowExceeded", "CODEX_CONTEXT_WINDOW_EXCEEDED"],
    ["usageLimitExceeded", "CODEX_QUOTA_EXHAUSTED"],
    ["unauthorized", "CODEX_AUTH_FAILED"],
    ["serverOverloaded", "CODEX_SERVER_OVERLOADED"],
    [{ responseTooManyFailedAttempts: { httpStatusCode: 429 } }, "CODEX_RATE_LIMITED"],
    [{ responseStreamConnectionFailed: { httpStatusCode: 401 } }, "CODEX_AUTH_FAILED"],
    [{ responseStreamDisconnected: { httpStatusCode: null } }, "CODEX_NETWORK"],
    [{ httpConnectionFailed: { httpStatusCode: 503 } }, "CODEX_SERVER_ERROR"],
    ["other", undefined],
    [{ somethingNew: {} }, undefined],
    [null, undefined],
  ])("%j → %s", (info, code) => {
    expect(codeOfErrorInfo(info)).toBe(code);
  });
});

describe("classifyAppServerError", () => {
  it("takes the info's code over the message's", () => {
    expect(classifyAppServerError("something odd", "contextWindowExceeded").code).toBe(
      "CODEX_CONTEXT_WINDOW_EXCEEDED",
    );
  });

  it("keeps the message's more specific code of the same class (a 429 that is a usage limit)", () => {
    const error = classifyAppServerError(
      "You've hit your usage limit. Try again later.",
      "usageLimitExceeded",
    );
    expect(error.class).toBe("quota_exhausted");
  });

  it("falls back to the message without usable info", () => {
    expect(classifyAppServerError("unexpected status 401 Unauthorized", null).code).toBe(
      "CODEX_AUTH_FAILED",
    );
  });
});
