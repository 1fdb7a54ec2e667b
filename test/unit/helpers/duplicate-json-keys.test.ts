import { describe, expect, it } from "vitest";

import { duplicateJsonKeys } from "../../helpers/duplicate-json-keys.js";

describe("duplicateJsonKeys", () => {
  it("sees a repeated key on the raw text, where JSON.parse keeps only the last", () => {
    const line =
      '{"@message":"codex exited","agent_id":"x","n":{"a":1,"a":[{"b":1,"b":2}]},"agent_id":"x"}';
    expect(Object.keys(JSON.parse(line) as object)).toEqual(["@message", "agent_id", "n"]);
    expect(duplicateJsonKeys(line)).toEqual(["n.a", "n.a.0.b", "agent_id"]);
  });

  it("finds none in JSON without repeats, however keys look inside strings and arrays", () => {
    expect(duplicateJsonKeys('{"a":"\\"a\\":1","b":[1,-2.5e3,{"a":null}],"c":{"a":true}}')).toEqual(
      [],
    );
    expect(duplicateJsonKeys(" [ ] ")).toEqual([]);
  });

  it("refuses what is not JSON", () => {
    for (const text of ['{"a":1', '{"a" 1}', "{'a':1}", '{"a":1} x', "nul"]) {
      expect(() => duplicateJsonKeys(text), text).toThrow(/not JSON/);
    }
  });
});
