// An operator's config file as `doctor --config` and the dev host read it: either the plugin's own
// config object (what the daemon hands to Configure) or the daemon's whole config.json, whose
// `providers` list names each plugin by path and carries that object under `config`.
import { readFile, stat } from "node:fs/promises";

import { MAX_CONFIG_JSON_BYTES, MAX_CONFIG_READ_BYTES } from "./limits.js";

/** The daemon config.json's provider entry a plugin config came from. */
export interface ProviderEntry {
  name: string;
  /** The entry's `path` (the plugin executable) as written; undefined when absent or not a string. */
  path: string | undefined;
}

/** The plugin config found in a file. */
export interface PluginConfigFile {
  /** The object for Configure. */
  config: unknown;
  /** Set when the file is a daemon config.json: the provider entry that held `config`. */
  provider?: ProviderEntry;
}

/**
 * Tells the two shapes apart: a JSON object with a `providers` key is a daemon config.json, and its
 * entry named `provider` (default: the first) holds the plugin config; anything else is the plugin
 * config itself. `file` only names the file in errors.
 */
export function pickPluginConfig(json: unknown, file: string, provider?: string): PluginConfigFile {
  if (typeof json !== "object" || json === null || !("providers" in json)) {
    if (provider !== undefined) {
      throw new Error(
        `${file} is a plugin config (it has no "providers" list), so there is no provider ${JSON.stringify(provider)} to pick`,
      );
    }
    return { config: json };
  }
  const providers = (json as { providers: unknown }).providers;
  if (!Array.isArray(providers)) throw new Error(`${file}: "providers" is not a list`);
  const entry = (providers as { name?: unknown; path?: unknown; config?: unknown }[]).find(
    (candidate) => provider === undefined || candidate.name === provider,
  );
  if (entry === undefined) {
    throw new Error(
      provider === undefined
        ? `${file}: "providers" lists no provider`
        : `${file}: no provider named ${JSON.stringify(provider)}`,
    );
  }
  return {
    config: entry.config ?? {},
    provider: {
      name: typeof entry.name === "string" ? entry.name : "",
      path: typeof entry.path === "string" ? entry.path : undefined,
    },
  };
}

/** Reads `file` as JSON and picks the plugin config in it (see {@link pickPluginConfig}). */
export async function readPluginConfigFile(
  file: string,
  provider?: string,
): Promise<PluginConfigFile> {
  let json: unknown;
  try {
    // A file far over what Configure accepts is not read at all.
    const { size } = await stat(file);
    if (size > MAX_CONFIG_READ_BYTES) {
      throw new Error(
        `it is ${size} bytes; a plugin config holds at most ${MAX_CONFIG_JSON_BYTES}`,
      );
    }
    json = JSON.parse(await readFile(file, "utf8"));
  } catch (error) {
    throw new Error(
      `cannot read ${file} as JSON: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  }
  return pickPluginConfig(json, file, provider);
}
