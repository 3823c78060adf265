/**
 * `sanboot-relay` (the bundle `npm run build:relay` makes) and `npm run relay --` (the same, under
 * tsx):
 *
 *   sanboot-relay run    --config /etc/sanboot-relay/relay.json   lease and execute the site's commands
 *   sanboot-relay check  --config /etc/sanboot-relay/relay.json   the service and every BMC, one line each
 *   sanboot-relay keygen --site-key-file FILE [--force]           the site's sealing key pair
 *   sanboot-relay --version                                        what this relay is (it tells the service too)
 *   sanboot-relay --help
 *
 * Flags alone (no command) mean `run`. `run` stops gracefully on SIGTERM or SIGINT (held commands
 * finish, bounded) and exits 0; a second signal exits at once. Exit codes: 0 done, 1 failed
 * (a check, or the relay), 2 bad usage or configuration.
 */
import { RedfishDriver } from "../lib/bmc/redfish-driver";
import { parseSitePrivateKey } from "../lib/relay/site-seal";
import { startRelayAgent } from "./agent";
import { checkSecrets, formatCheckLine, runChecks } from "./check";
import {
  KEYGEN_USAGE,
  RELAY_FLAGS_USAGE,
  RelayConfigError,
  parseKeygenArgs,
  parseRelayConfig,
  relayProcessInput,
  type RelayConfig,
} from "./config";
import { writeSiteKeyPair } from "./keygen";
import { RELAY_VERSION } from "./version";

type Env = Readonly<Record<string, string | undefined>>;

const USAGE = `usage: sanboot-relay <command> [flags]

commands:
  run      lease this site's commands from the service and execute them against its BMCs (the default)
  check    reach the service with the token, and every BMC address of the credentials file with its
           login, TLS verified as the entry says; one line each; exits 1 if any fails
  keygen   make the site's sealing key pair (the private half stays here, the public half goes to the service)
  version  print this relay's version (also --version); the service shows it in the site's relay health
  help     this text (also --help, and <command> --help)

run and check read the same configuration:
${RELAY_FLAGS_USAGE}

${KEYGEN_USAGE}

exit codes: 0 done, 1 failed, 2 bad usage or configuration`;

const out = (s: string) => process.stdout.write(s);
const err = (s: string) => process.stderr.write(s);

/** Parses the configuration; on a mistake says what is wrong (never a secret) and exits 2. */
function configOrExit(argv: readonly string[], env: Env): RelayConfig {
  try {
    return parseRelayConfig(argv, env);
  } catch (e) {
    if (e instanceof RelayConfigError) {
      err(`sanboot-relay: ${e.message}\n(sanboot-relay --help lists the flags)\n`);
      process.exit(2);
    }
    throw e;
  }
}

function keygen(argv: readonly string[], env: Env): number {
  try {
    out(writeSiteKeyPair(parseKeygenArgs(argv, env)).message);
    return 0;
  } catch (e) {
    if (!(e instanceof RelayConfigError)) throw e;
    err(`sanboot-relay keygen: ${e.message}\n`);
    return 2;
  }
}

async function check(argv: readonly string[], env: Env): Promise<number> {
  const config = configOrExit(argv, env);
  const secrets = checkSecrets(config);
  const refs = [...config.credentials.keys()];
  const addresses = [config.serviceUrl, ...[...config.credentials.values()].flatMap((c) => c.check ?? ["-"])];
  const widths = { ref: Math.max(1, ...refs.map((r) => r.length)), address: Math.max(...addresses.map((a) => a.length)) };
  const counts = { OK: 0, FAILED: 0, SKIPPED: 0 };
  for await (const line of runChecks(config)) {
    counts[line.status]++;
    out(`${formatCheckLine(line, widths, secrets)}\n`);
  }
  err(`sanboot-relay check: ${counts.OK} OK, ${counts.FAILED} failed${counts.SKIPPED ? `, ${counts.SKIPPED} credentials entries without "check" addresses` : ""}\n`);
  return counts.FAILED > 0 ? 1 : 0;
}

function run(argv: readonly string[], env: Env): void {
  const config = configOrExit(argv, env);
  const agent = startRelayAgent({
    serviceUrl: config.serviceUrl,
    site: config.site,
    token: config.token,
    relayId: config.relayId,
    credentials: config.credentials,
    driver: new RedfishDriver(),
    concurrency: config.concurrency,
    waitSeconds: config.waitSeconds,
    heartbeatSeconds: config.heartbeatSeconds,
    stopTimeoutSeconds: config.stopTimeoutSeconds,
    ...(config.siteKeyPem ? { siteKey: parseSitePrivateKey(config.siteKeyPem) } : {}),
  });

  let signalled = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (signalled) {
      // A second signal while draining: the operator wants out now.
      err(`sanboot-relay: ${signal} again, exiting without waiting\n`);
      process.exit(1);
    }
    signalled = true;
    agent.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
}

async function main(): Promise<void> {
  const { argv, env } = relayProcessInput();
  const first = argv[0];
  const command = first === undefined || first.startsWith("-") ? "run" : first;
  const rest = command === first ? argv.slice(1) : argv;
  if (command === "version" || first === "--version") {
    out(`sanboot-relay ${RELAY_VERSION}\n`);
    return;
  }
  if (command === "help" || rest.includes("--help") || rest.includes("-h")) {
    out(`${command === "keygen" ? KEYGEN_USAGE : USAGE}\n`);
    return;
  }
  switch (command) {
    case "run":
      return run(rest, env);
    case "check":
      process.exitCode = await check(rest, env);
      return;
    case "keygen":
      process.exitCode = keygen(rest, env);
      return;
    default:
      err(`sanboot-relay: unknown command ${JSON.stringify(command)}\n\n${USAGE}\n`);
      process.exitCode = 2;
  }
}

void main().catch((e: unknown) => {
  err(`sanboot-relay: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
