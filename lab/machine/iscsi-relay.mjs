// One guest TCP connection to an iSCSI target, relayed to the real portal.
//
// QEMU's user-net starts this for every connection the guest opens to a guestfwd address
// (`guestfwd=tcp:10.0.2.100:3260-cmd:node iscsi-relay.mjs <host> <port>`), with the connection
// as stdin/stdout. A plain `-tcp:host:port` forward would connect once, when QEMU starts (QEMU
// refuses to start if the portal is down) and carry only the guest's first connection: a second
// login (iPXE trying another path, reopening the disk) hangs. Tried with Debian's QEMU 7.2.
//
// Plain JavaScript so it runs under `node` with no loader. It writes nothing of its own: stdout
// is the guest's connection, and stderr may be too.
import { connect } from "node:net";

const [host = "", port = ""] = process.argv.slice(2);
const done = () => process.exit(0);

try {
  const upstream = connect({ host: host.replace(/^\[|\]$/g, ""), port: Number(port) });
  upstream.setNoDelay(true);
  process.stdin.pipe(upstream);
  upstream.pipe(process.stdout);
  upstream.on("error", done);
  upstream.on("close", done);
  process.stdin.on("end", done);
  process.stdin.on("error", done);
  process.stdout.on("error", done);
} catch {
  done();
}
