/**
 * Where the operator CLI finds the service: flags, then the environment (SANBOOT_URL,
 * SANBOOT_TOKEN, SANBOOT_PROFILE), then a profile file (SANBOOT_CONFIG, else
 * ~/.config/sanboot/config.json): `{"profiles": {"default": {"url": "...", "token": "..."}}}`.
 * A token may also be read from a file (`token_file` in a profile, `--token-file`), so it need not
 * sit in the shell history.
 */
import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { z } from "zod";

const profile = z.strictObject({ url: z.string().url().optional(), token: z.string().min(1).optional(), token_file: z.string().min(1).optional() });
const file = z.strictObject({ profiles: z.record(z.string(), profile) });

export interface Target {
  url: string;
  token: string;
}

export class ConfigError extends Error {}

export function defaultConfigPath(env: NodeJS.ProcessEnv): string {
  return env.SANBOOT_CONFIG ?? join(env.HOME ?? homedir(), ".config", "sanboot", "config.json");
}

function readProfile(path: string, name: string, explicit: boolean): z.infer<typeof profile> {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    if (explicit) throw new ConfigError(`profile ${name}: no config file at ${path}`);
    return {};
  }
  let parsed: z.infer<typeof file>;
  try {
    parsed = file.parse(JSON.parse(text));
  } catch (err) {
    throw new ConfigError(`${path}: not a sanboot config (${err instanceof z.ZodError ? z.prettifyError(err).replace(/\n/g, "; ") : (err as Error).message})`);
  }
  const p = parsed.profiles[name];
  if (!p) {
    if (explicit) throw new ConfigError(`${path} has no profile ${name} (it has: ${Object.keys(parsed.profiles).join(", ") || "none"})`);
    return {};
  }
  return p;
}

const readToken = (path: string) => {
  try {
    return readFileSync(path, "utf8").trim();
  } catch (err) {
    throw new ConfigError(`cannot read the token file ${path}: ${(err as Error).message}`);
  }
};

export function resolveTarget(flags: { url?: string; token?: string; tokenFile?: string; profile?: string }, env: NodeJS.ProcessEnv): Target {
  const name = flags.profile ?? env.SANBOOT_PROFILE ?? "default";
  const p = readProfile(defaultConfigPath(env), name, flags.profile !== undefined || env.SANBOOT_PROFILE !== undefined);
  const url = flags.url ?? env.SANBOOT_URL ?? p.url;
  const token = flags.token ?? (flags.tokenFile ? readToken(flags.tokenFile) : undefined) ?? env.SANBOOT_TOKEN ?? p.token ?? (p.token_file ? readToken(p.token_file) : undefined);
  if (!url) throw new ConfigError("no service URL: pass --url, set SANBOOT_URL, or put url in a profile");
  if (!token) throw new ConfigError("no token: pass --token or --token-file, set SANBOOT_TOKEN, or put token / token_file in a profile");
  return { url: url.replace(/\/+$/, ""), token };
}
