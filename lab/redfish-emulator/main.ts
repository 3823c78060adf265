/**
 * Lab Redfish BMC emulator, standalone:
 *   tsx lab/redfish-emulator/main.ts --port 8443 --systems 3 [--host 127.0.0.1] [--tls-dir .local/lab-tls]
 *     [--power-delay-ms 2000] [--latency-ms 0] [--username admin] [--password password]
 */
import { parseArgs } from "node:util";
import { startRedfishEmulator } from "./server";

const { values } = parseArgs({
  options: {
    port: { type: "string", default: "8443" },
    host: { type: "string", default: "127.0.0.1" },
    systems: { type: "string", default: "1" },
    "tls-dir": { type: "string" },
    "power-delay-ms": { type: "string", default: "2000" },
    "latency-ms": { type: "string", default: "0" },
    username: { type: "string", default: "admin" },
    password: { type: "string", default: "password" },
  },
});

async function main(): Promise<void> {
  const count = Number(values.systems);
  const emulator = await startRedfishEmulator({
    port: Number(values.port),
    host: values.host,
    ...(values["tls-dir"] ? { tlsDir: values["tls-dir"] } : {}),
    powerDelayMs: Number(values["power-delay-ms"]),
    latencyMs: Number(values["latency-ms"]),
    username: values.username,
    password: values.password,
    systems: Array.from({ length: count }, () => ({})),
  });

  console.log(`redfish emulator on ${emulator.url} (CA: ${emulator.tlsDir}/ca.pem)`);
  for (const id of emulator.systemIds()) {
    const s = emulator.system(id);
    const macs = s.functions.filter((f) => f.capabilities.includes("iSCSI")).map((f) => f.mac).join(", ");
    console.log(`  ${emulator.url}/redfish/v1/Systems/${id}  iSCSI ports: ${macs}`);
  }
  console.log(`  control: ${emulator.url}/_lab/systems`);

  const stop = () => void emulator.close().then(() => process.exit(0));
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
