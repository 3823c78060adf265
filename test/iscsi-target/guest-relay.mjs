// QEMU's user network runs this for each TCP connection the guest opens to the guestfwd
// address, the connection on stdin/stdout; it carries it to the target on the host loopback.
// Plain JavaScript: node runs it without a loader.
import { connect } from "node:net";

const [host, port] = process.argv.slice(2);
const upstream = connect({ host, port: Number(port), noDelay: true });
const quit = () => process.exit(0);
process.stdin.pipe(upstream);
upstream.pipe(process.stdout);
for (const s of [upstream, process.stdin, process.stdout]) s.on("error", quit);
upstream.on("close", quit);
process.stdin.on("end", quit);
