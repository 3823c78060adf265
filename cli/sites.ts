/**
 * `sanboot sites ...`: the sites API (admin only) from the command line. Relay tokens are given
 * by file and hashed here (./site-files.ts): the service gets their SHA-256 only, and no output
 * holds a token. Each subcommand takes only its own flags; a flag of another is a usage error,
 * not silently ignored.
 */
import type { ParseArgsConfig } from "node:util";
import { all, str, UsageError, type Values } from "./args";
import { allPages, type ApiClient } from "./client";
import { SITE_COLUMNS, siteDetailText, siteText, table } from "./render";
import { givenSha256, relayTokenSha256, sealingPublicKey } from "./site-files";

export const SITE_OPTIONS = {
  "relay-token-file": { type: "string", multiple: true },
  "relay-token-sha256": { type: "string", multiple: true },
  "sealing-key-file": { type: "string" },
  description: { type: "string" },
  "add-token-file": { type: "string" },
  "add-token-sha256": { type: "string" },
  "remove-token-file": { type: "string" },
  "remove-token-sha256": { type: "string" },
  limit: { type: "string" },
} as const satisfies ParseArgsConfig["options"];

type SiteFlag = keyof typeof SITE_OPTIONS;

const FLAGS: Record<string, SiteFlag[]> = {
  create: ["relay-token-file", "relay-token-sha256", "sealing-key-file", "description"],
  list: ["limit"],
  show: [],
  update: ["description", "sealing-key-file"],
  "rotate-token": ["add-token-file", "add-token-sha256", "remove-token-file", "remove-token-sha256"],
  delete: [],
};

const MORE = "\nglobal options (--url, --token, --token-file, --profile, --json): sanboot --help\n";

const HELP: Record<string, string> = {
  create: `usage: sanboot sites create SITE --relay-token-file FILE [--relay-token-file FILE2] [--relay-token-sha256 HEX]
                           [--sealing-key-file site-key.pem.pub] [--description TEXT]

Creates a site (admin). Each --relay-token-file is read and hashed here, as the relay presents it
(the file's line without its newline: tr -d '\\n' < FILE | sha256sum); only the SHA-256 goes to the
service, never the token. --relay-token-sha256 gives such a hash directly. 1 to 4 tokens.
--sealing-key-file is the public half of the site's key pair (sanboot-relay keygen writes it to
FILE.pub); a private key is refused.
${MORE}`,
  list: `usage: sanboot sites list [--limit N]

Lists the sites (admin): those made with sites create, and those from the service's environment
(SOURCE environment, which the API cannot change).
${MORE}`,
  show: `usage: sanboot sites show SITE

Shows a site (admin): the hashes of its relay tokens, its sealing key, its relays (relay id,
version, concurrency, last seen, online) and its command queue (queued, in flight, oldest).
${MORE}`,
  update: `usage: sanboot sites update SITE [--description TEXT] [--sealing-key-file site-key.pem.pub]

Changes a site's description (--description "" clears it) or its sealing public key (admin).
Relay tokens change with sites rotate-token.
${MORE}`,
  "rotate-token": `usage: sanboot sites rotate-token SITE --add-token-file NEW | --add-token-sha256 HEX
       sanboot sites rotate-token SITE --remove-token-file OLD | --remove-token-sha256 HEX

Rotates a relay token in two steps (admin): add the new token (old and new both work), restart the
relay on the new one, then remove the old. One change per call; the last token is never removed.
Tokens are hashed here as in sites create; only hashes reach the service.
${MORE}`,
  delete: `usage: sanboot sites delete SITE

Deletes a site (admin); its relay tokens stop working. Refused (SITE_HAS_NODES) while nodes are
enrolled at it, and (SITE_IN_ENVIRONMENT) for a site from the service's environment.
${MORE}`,
};

export const SITES_USAGE = `usage: sanboot sites COMMAND ... (admin)

commands:
  sites create SITE --relay-token-file FILE [--relay-token-file FILE2] [--relay-token-sha256 HEX]
               [--sealing-key-file site-key.pem.pub] [--description TEXT]
  sites list [--limit N]
  sites show SITE
  sites update SITE [--description TEXT] [--sealing-key-file site-key.pem.pub]
  sites rotate-token SITE --add-token-file NEW | --remove-token-file OLD   (or --add/--remove-token-sha256 HEX)
  sites delete SITE

sanboot sites COMMAND --help for each.
${MORE}`;

/** The help for `sites SUB` (the overview when SUB is none or unknown). */
export const sitesHelp = (sub: string | undefined): string => (sub !== undefined && Object.hasOwn(HELP, sub) ? HELP[sub]! : SITES_USAGE);

export interface SitesContext {
  /** the service's client, asked for once the flags and files have been checked */
  connect(): ApiClient;
  show(body: unknown, text: () => string): void;
}

const need = (site: string | undefined, sub: string): string => {
  if (!site) throw new UsageError(`sites ${sub} SITE: which site?`);
  return site;
};

/** The hashes of the tokens a file flag and a hash flag name, each token once. */
function tokenHashes(v: Values, fileFlag: SiteFlag, hashFlag: SiteFlag): string[] {
  const given = [
    ...all(v, fileFlag).map((path) => ({ from: path, sha256: relayTokenSha256(path) })),
    ...all(v, hashFlag).map((hex, i) => ({ from: `--${hashFlag} #${i + 1}`, sha256: givenSha256(hex, `--${hashFlag}`) })),
  ];
  const seen = new Map<string, string>();
  for (const t of given) {
    const first = seen.get(t.sha256);
    if (first !== undefined) throw new UsageError(`${first} and ${t.from} are the same token: each token once`);
    seen.set(t.sha256, t.from);
  }
  return [...seen.keys()];
}

/** The one token a rotate-token flag pair names, or undefined when neither is given. */
function oneToken(v: Values, fileFlag: SiteFlag, hashFlag: SiteFlag): string | undefined {
  if (all(v, fileFlag).length + all(v, hashFlag).length > 1) throw new UsageError(`one of --${fileFlag} and --${hashFlag}, once`);
  return tokenHashes(v, fileFlag, hashFlag)[0];
}

export async function sites(sub: string | undefined, pos: string[], v: Values, { connect, show }: SitesContext): Promise<number> {
  const allowed = sub !== undefined && Object.hasOwn(FLAGS, sub) ? FLAGS[sub] : undefined;
  if (sub === undefined || !allowed) throw new UsageError(sub === undefined ? "sites: which command? (sanboot sites --help)" : `unknown command: sites ${sub}`);
  const stray = (Object.keys(SITE_OPTIONS) as SiteFlag[]).filter((k) => v[k] !== undefined && !allowed.includes(k));
  if (stray.length) throw new UsageError(`sites ${sub} takes no ${stray.map((k) => `--${k}`).join(", ")}`);
  // not echoed: a stray argument may be a token pasted in
  if (pos.length > 1) throw new UsageError(`sites ${sub}: one site at a time (got ${pos.length} arguments)`);
  if (sub === "list") {
    const list = await allPages(connect(), "/v1/sites", "sites", str(v, "limit"));
    show({ sites: list }, () => table(list as never, SITE_COLUMNS));
    return 0;
  }
  const site = need(pos[0], sub);
  const path = `/v1/sites/${encodeURIComponent(site)}`;
  const description = str(v, "description");
  const keyFile = str(v, "sealing-key-file");
  const changes = {
    ...(description !== undefined ? { description: description === "" ? null : description } : {}),
    ...(keyFile !== undefined ? { sealing_public_key: sealingPublicKey(keyFile) } : {}),
  };

  switch (sub) {
    case "create": {
      const hashes = tokenHashes(v, "relay-token-file", "relay-token-sha256");
      if (hashes.length === 0) throw new UsageError("sites create: give the site's relay token, --relay-token-file FILE (or its hash, --relay-token-sha256 HEX)");
      const res = await connect().call("POST", "/v1/sites", { site, relay_token_sha256: hashes, ...changes });
      show(res.body, () => siteText(res.body));
      return 0;
    }
    case "show": {
      const res = await connect().get(path);
      show(res.body, () => siteDetailText(res.body));
      return 0;
    }
    case "update": {
      if (Object.keys(changes).length === 0) throw new UsageError("sites update: nothing to change: --description or --sealing-key-file (tokens: sites rotate-token)");
      const res = await connect().call("PATCH", path, changes);
      show(res.body, () => siteText(res.body));
      return 0;
    }
    case "rotate-token":
      return rotateToken(site, path, v, { connect, show });
    case "delete": {
      await connect().call("DELETE", path);
      show({ deleted: site }, () => `deleted site ${site}\n`);
      return 0;
    }
  }
  throw new UsageError(`unknown command: sites ${sub}`);
}

/**
 * One step of a rotation: the site's hashes as they are, plus the new one or minus the old one
 * (the API replaces the whole list). A step already done is not sent again. The PATCH carries the
 * version the list was read at, so a rotation by someone else meanwhile refuses it (409
 * VERSION_CONFLICT) instead of being overwritten: run the step again.
 */
async function rotateToken(site: string, path: string, v: Values, { connect, show }: SitesContext): Promise<number> {
  const add = oneToken(v, "add-token-file", "add-token-sha256");
  const remove = oneToken(v, "remove-token-file", "remove-token-sha256");
  if (add && remove) {
    throw new UsageError("one change at a time: add the new token, restart the relay on it, then remove the old (both at once would cut off a relay still on the old)");
  }
  const hash = add ?? remove;
  if (!hash) throw new UsageError("sites rotate-token SITE --add-token-file NEW, or --remove-token-file OLD (or --add-token-sha256 / --remove-token-sha256 HEX)");
  const client = connect();
  const current = (await client.get(path)).body;
  const hashes: string[] = (current.relay_tokens as Array<{ sha256: string }>).map((t) => t.sha256);
  if (add && hashes.includes(add)) {
    show(current, () => `site ${site} already accepts that token (sha256 ${add}): nothing to add\n`);
    return 0;
  }
  if (remove && !hashes.includes(remove)) {
    show(current, () => `site ${site} does not accept that token (sha256 ${remove}): nothing to remove\n`);
    return 0;
  }
  const next = add ? [...hashes, add] : hashes.filter((h) => h !== remove);
  if (next.length === 0) {
    throw new UsageError(`that is site ${site}'s last relay token, not removed: add the new one first (--add-token-file), restart the relay on it, then remove this one`);
  }
  const res = await client.call("PATCH", path, { relay_token_sha256: next, ...(typeof current.version === "number" ? { version: current.version } : {}) });
  const done = add ? `added token sha256 ${add} to site ${site}` : `removed token sha256 ${remove} from site ${site}`;
  show(res.body, () => `${done}\n\n${siteText(res.body)}`);
  return 0;
}
