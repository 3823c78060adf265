/**
 * `npm run relay -- --service-url https://... --site dc1 --token-file /etc/sanboot/token
 *   --credentials-file /etc/sanboot/bmc.json`
 *
 * Parses the configuration, wires the Redfish driver into an agent and runs it until SIGTERM or
 * SIGINT, which stop it gracefully (held commands finish, bounded) before exiting 0.
 */
import { RedfishDriver } from "../lib/bmc/redfish-driver";
import { generateSiteKeyPair, parseSitePrivateKey } from "../lib/relay/site-seal";
import { startRelayAgent } from "./agent";
import { RELAY_USAGE, RelayConfigError, relayConfigFromProcess, type RelayConfig } from "./config";

function keygen(): void {
  // `npm run relay -- keygen`: a site key pair. The private key stays at the site (give it to the
  // relay with --site-key-file); the public key goes into the service's SANBOOT_SITE_KEYS.
  const { publicKeyPem, privateKeyPem } = generateSiteKeyPair();
  process.stdout.write(`# private key: save as the relay's --site-key-file (mode 0600)\n${privateKeyPem}\n# public key: SANBOOT_SITE_KEYS entry for this site\n${publicKeyPem}`);
}

function main(): void {
  if (process.argv[2] === "keygen") return keygen();
  let config: RelayConfig;
  try {
    config = relayConfigFromProcess();
  } catch (err) {
    if (err instanceof RelayConfigError) {
      process.stderr.write(`sanboot relay: ${err.message}\n`);
      if (!err.message.includes("usage:")) process.stderr.write(`${RELAY_USAGE}\n`);
      process.exit(2);
    }
    throw err;
  }

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
      process.stderr.write(`sanboot relay: ${signal} again, exiting without waiting\n`);
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

main();
