// Finds keys repeated within one object of a JSON text. JSON.parse keeps the last of duplicates
// silently (as Go's decoder does), so they can only be seen on the raw text.

/** Every key that occurs more than once in one object, as its dotted path; throws on bad JSON. */
export function duplicateJsonKeys(text: string): string[] {
  let at = 0;
  const found: string[] = [];
  const fail = (what: string): never => {
    throw new Error(`not JSON (${what} at ${at}): ${text.slice(0, 200)}`);
  };
  const space = (): void => {
    while (at < text.length && " \t\n\r".includes(text[at] ?? "")) at += 1;
  };
  const string = (): string => {
    if (text[at] !== '"') fail("expected a string");
    const start = at;
    at += 1;
    while (text[at] !== '"') {
      if (at >= text.length) fail("unterminated string");
      at += text[at] === "\\" ? 2 : 1;
    }
    at += 1;
    return JSON.parse(text.slice(start, at)) as string;
  };
  const value = (path: string): void => {
    space();
    const char = text[at];
    if (char === "{") {
      at += 1;
      const keys = new Set<string>();
      space();
      if (text[at] === "}") {
        at += 1;
        return;
      }
      for (;;) {
        space();
        const key = string();
        if (keys.has(key)) found.push(`${path}${key}`);
        keys.add(key);
        space();
        if (text[at] !== ":") fail("expected ':'");
        at += 1;
        value(`${path}${key}.`);
        space();
        if (text[at] === ",") at += 1;
        else if (text[at] === "}") {
          at += 1;
          return;
        } else fail("expected ',' or '}'");
      }
    }
    if (char === "[") {
      at += 1;
      space();
      if (text[at] === "]") {
        at += 1;
        return;
      }
      for (let index = 0; ; index += 1) {
        value(`${path}${index}.`);
        space();
        if (text[at] === ",") at += 1;
        else if (text[at] === "]") {
          at += 1;
          return;
        } else fail("expected ',' or ']'");
      }
    }
    if (char === '"') {
      string();
      return;
    }
    const literal = /^(?:-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null)/.exec(text.slice(at));
    if (literal === null) fail("expected a value");
    at += literal?.[0].length ?? 0;
  };
  value("");
  space();
  if (at !== text.length) fail("trailing text");
  return found;
}
