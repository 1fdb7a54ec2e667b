import { describe, expect, it } from "vitest";

import { redactPaths, redactSecrets } from "../../../../src/log/redact.js";

describe("redactSecrets", () => {
  it("replaces every occurrence of each secret, longest first", () => {
    expect(redactSecrets("key=abcd1234 again abcd1234 and abcd", ["abcd", "abcd1234"])).toBe(
      "key=[REDACTED] again [REDACTED] and [REDACTED]",
    );
  });

  it("ignores secrets too short to be meaningful", () => {
    expect(redactSecrets("a b c", ["a", "", "b"])).toBe("a b c");
  });

  it("removes bearer tokens and sk- keys it was not told about", () => {
    expect(
      redactSecrets(
        '401: "Authorization: Bearer eyJhbGciOi.x.y" with sk-proj-ABCDEFGHIJKLMNOPQRST',
        [],
      ),
    ).toBe('401: "Authorization: Bearer [REDACTED]" with [REDACTED]');
  });

  it("leaves ordinary text alone", () => {
    expect(redactSecrets("the bearer of bad news; task-1", [])).toBe(
      "the bearer of bad news; task-1",
    );
  });
});

describe("redactPaths", () => {
  it("covers the credential keys at three depths", () => {
    for (const path of [
      "apiKey",
      "*.apiKey",
      "*.*.apiKey",
      "authorization",
      '*.*["x-api-key"]',
      "*.OPENAI_API_KEY",
    ]) {
      expect(redactPaths).toContain(path);
    }
  });
});
