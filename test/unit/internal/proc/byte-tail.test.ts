import { describe, expect, it } from "vitest";

import { ByteTail } from "../../../../internal/proc/byte-tail.js";

describe("ByteTail", () => {
  it("keeps everything under the limit", () => {
    const tail = new ByteTail(16);
    tail.push(Buffer.from("hello "));
    tail.push(Buffer.from("world"));
    expect(tail.toString()).toBe("hello world");
  });

  it("keeps only the last bytes across many chunks", () => {
    const tail = new ByteTail(10);
    for (let index = 0; index < 100; index += 1) tail.push(Buffer.from(`${index % 10}`));
    expect(tail.toString()).toBe("0123456789");
    tail.push(Buffer.from("x".repeat(50) + "END"));
    expect(tail.toString()).toBe("xxxxxxxEND");
  });

  it("drops a multi-byte character cut at the start instead of showing garbage", () => {
    const tail = new ByteTail(4);
    tail.push(Buffer.from("ab✓cd"));
    // "✓" is 3 bytes; the kept 4 bytes start inside it.
    expect(tail.toString()).toBe("cd");
  });
});
