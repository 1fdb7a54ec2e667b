/** Replacement text for a redacted value, in log records and in error text alike. */
export const REDACTED = "[REDACTED]";

// Key names that carry credentials. pino's redaction matches exact key names, not patterns.
const secretKeys = [
  "apiKey",
  "api_key",
  "apikey",
  "authorization",
  "Authorization",
  "token",
  "accessToken",
  "access_token",
  "refreshToken",
  "refresh_token",
  "idToken",
  "id_token",
  "password",
  "secret",
  "clientSecret",
  "client_secret",
  "cookie",
  "x-api-key",
  "OPENAI_API_KEY",
  "CODEX_API_KEY",
] as const;

function keyPath(prefix: string, key: string): string {
  const segment = /^[A-Za-z_$][\w$]*$/.test(key) ? key : `["${key}"]`;
  if (prefix === "") return segment;
  return segment.startsWith("[") ? `${prefix}${segment}` : `${prefix}.${segment}`;
}

/**
 * Default pino redaction paths: every secret key name at the top level and up to two levels down
 * (`headers.authorization`, `config.env.OPENAI_API_KEY`). pino wildcards match exactly one level,
 * hence the explicit depths.
 */
export const redactPaths: readonly string[] = ["", "*", "*.*"].flatMap((prefix) =>
  secretKeys.map((key) => keyPath(prefix, key)),
);

// Credentials that are recognisable without knowing their value.
const secretPatterns: ReadonlyArray<readonly [RegExp, string]> = [
  [/\b(Bearer\s+)(?!\[REDACTED\])[^\s"',;]+/g, `$1${REDACTED}`],
  [/\bsk-[A-Za-z0-9_-]{16,}/g, REDACTED],
];

/**
 * Removes secrets from free text such as an error message or a child's stderr tail, which pino's
 * key-based redaction cannot see. Replaces every occurrence of each given secret (values shorter
 * than 4 characters are ignored, because blanking them would shred ordinary text), then anything
 * that looks like a bearer token or an OpenAI-style `sk-` key.
 */
export function redactSecrets(text: string, secrets: readonly string[]): string {
  let result = text;
  // Longest first, so a secret that contains another is removed whole.
  const values = secrets.filter((s) => s.length >= 4).sort((a, b) => b.length - a.length);
  for (const value of values) result = result.split(value).join(REDACTED);
  for (const [pattern, replacement] of secretPatterns)
    result = result.replace(pattern, replacement);
  return result;
}
