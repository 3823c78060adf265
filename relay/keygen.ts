/**
 * `sanboot-relay keygen`: the site's sealing key pair (lib/relay/site-seal.ts). The private key
 * stays at the site, in a file only the relay's user reads, and opens the target secrets the
 * service seals to the site; the public key goes to the service (`SANBOOT_SITE_KEYS`). Files are
 * written with mode 0600 and never over an existing one unless the operator says --force.
 */
import { chmodSync, existsSync, writeFileSync } from "node:fs";
import { generateSiteKeyPair } from "../lib/relay/site-seal";
import { RelayConfigError, type KeygenArgs } from "./config";

export interface WrittenKeys {
  publicKeyPem: string;
  /** what to tell the operator (no private key in it) */
  message: string;
}

export function writeSiteKeyPair(args: KeygenArgs): WrittenKeys {
  const paths = [args.privateKeyFile, args.publicKeyFile];
  if (!args.force) {
    const present = paths.filter((p) => existsSync(p));
    if (present.length > 0) {
      throw new RelayConfigError(`${present.join(" and ")} already exist${present.length === 1 ? "s" : ""}: not overwritten (a new key pair makes every secret sealed to the old one unreadable); --force replaces it`);
    }
  }
  const { publicKeyPem, privateKeyPem } = generateSiteKeyPair();
  // "wx": created here and now, never through a file (or link) someone put there in between.
  const write = (path: string, text: string) => {
    try {
      writeFileSync(path, text, { mode: 0o600, flag: args.force ? "w" : "wx" });
      chmodSync(path, 0o600); // an existing file keeps its mode on "w"
    } catch (err) {
      throw new RelayConfigError(`cannot write ${path}: ${(err as Error).message}`);
    }
  };
  write(args.privateKeyFile, privateKeyPem);
  write(args.publicKeyFile, publicKeyPem);
  const entry = JSON.stringify({ [args.site ?? "<site>"]: publicKeyPem });
  const message = [
    `private key: ${args.privateKeyFile} (mode 0600): it stays at this site; the relay reads it with --site-key-file (site_key_file)`,
    `public key:  ${args.publicKeyFile}`,
    "",
    publicKeyPem.trimEnd(),
    "",
    `give the public key to the service, in SANBOOT_SITE_KEYS: ${entry}`,
    "",
  ].join("\n");
  return { publicKeyPem, message };
}
