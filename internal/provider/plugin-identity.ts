// The handshake settings and version both the plugin and its hosts agree on.

// Replaced at bundle time by scripts/build.mjs; unbundled code (tests) reports a dev version.
declare const PLEXUM_PLUGIN_VERSION: string | undefined;

/** The plugin's version: package.json's, stamped in at build time. */
export const PLUGIN_VERSION: string =
  typeof PLEXUM_PLUGIN_VERSION === "string" ? PLEXUM_PLUGIN_VERSION : "0.0.0-dev";

/** go-plugin handshake settings of plexum provider plugins. */
export const PLEXUM_HANDSHAKE = {
  cookieKey: "PLEXUM_PLUGIN_COOKIE",
  cookieValue: "plexum-provider-9c1e4b7a",
  appProtocolVersions: [1],
} as const;

/** The plugin's name in GetInfo. */
export const PLUGIN_NAME = "plexum-openai-provider";

/** The plexum.provider protocol major version. */
export const PROVIDER_PROTOCOL_VERSION = 1;
