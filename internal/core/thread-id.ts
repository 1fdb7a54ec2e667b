// Codex's thread ids are UUIDs. One from codex or from a stored record is checked before it is
// stored, resumed or put in any path, so a misbehaving codex (or a hand-edited state file) cannot
// name a file outside the sessions tree.

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** True when `value` has the shape of a codex thread id. */
export function isThreadId(value: string): boolean {
  return UUID.test(value);
}
