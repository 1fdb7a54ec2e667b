// Scrubs known secret values (the keys a turn handed to codex) from every string of a canonical
// event, whatever produced it: codex's error text, a command's output, the stderr tail.
import { REDACTED } from "../../src/log/redact.js";
import type { CanonicalEvent } from "../core/canonical-event.js";

// Shorter values would blank ordinary words; real keys are far longer.
const MIN_SECRET_CHARS = 8;

/** A copy of `event` with every occurrence of each secret replaced; the same object when none. */
export function redactEvent(event: CanonicalEvent, secrets: readonly string[]): CanonicalEvent {
  const values = secrets
    .filter((secret) => secret.length >= MIN_SECRET_CHARS)
    .sort((a, b) => b.length - a.length);
  if (values.length === 0) return event;
  return scrub(event, values) as CanonicalEvent;
}

function scrub(value: unknown, secrets: readonly string[]): unknown {
  if (typeof value === "string") {
    let result = value;
    for (const secret of secrets) {
      if (result.includes(secret)) result = result.split(secret).join(REDACTED);
    }
    return result;
  }
  if (Array.isArray(value)) return value.map((element) => scrub(element, secrets));
  // Dates (resetsAt) and other class instances are not secret-bearing; keep them as they are.
  if (
    typeof value === "object" &&
    value !== null &&
    Object.getPrototypeOf(value) === Object.prototype
  ) {
    const copy: Record<string, unknown> = {};
    for (const [key, element] of Object.entries(value)) copy[key] = scrub(element, secrets);
    return copy;
  }
  return value;
}
