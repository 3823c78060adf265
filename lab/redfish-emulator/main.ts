/**
 * Lab Redfish BMC emulator, standalone:
 *   tsx lab/redfish-emulator/main.ts --port 8443 --systems 3 [--host 127.0.0.1] [--tls-dir .local/lab-tls]
 *     [--power-delay-ms 2000] [--post-delay-ms <power delay>] [--latency-ms 0] [--username admin] [--password password]
 *     [--flavour generic|generic-settings|dell|dell10|hpe|lenovo|supermicro] [--fc-ports 0]
 *     [--machine qemu [--remote-drive]]
 * --machine qemu backs the systems with QEMU virtual machines (lab/machine) whose serial consoles
 * are printed as `[vm <system>] <line>`; --remote-drive offers RemoteDrive (Legacy BIOS SAN boot).
 */
import { parseArgs } from "node:util";
import { FLAVOURS, type Flavour } from "./flavours";
import { startRedfishEmulator } from "./server";
import type { MachineBackend } from "./machine";
import { qemuBackend } from "../machine/backend";

const { values } = parseArgs({
  options: {
    port: { type: "string", default: "8443" },
    host: { type: "string", default: "127.0.0.1" },
    systems: { type: "string", default: "1" },
    "tls-dir": { type: "string" },
    "power-delay-ms": { type: "string", default: "2000" },
    "post-delay-ms": { type: "string" },
    "latency-ms": { type: "string", default: "0" },
    username: { type: "string", default: "admin" },
    password: { type: "string", default: "password" },
    flavour: { type: "string", default: "generic" },
    "fc-ports": { type: "string", default: "0" },
    machine: { type: "string" },
    "remote-drive": { type: "boolean" },
  },
});

/** QEMU machines whose console lines are printed as they come. */
function printingQemu(): MachineBackend {
  const qemu = qemuBackend();
  return {
    support: qemu.support,
    create: (id, opts, events) => qemu.create(id, opts, { ...events, line: (text) => (console.log(`[vm ${id}] ${text}`), events.line(text)) }),
  };
}

async function main(): Promise<void> {
  const count = Number(values.systems);
  const flavour = values.flavour as Flavour;
  if (!FLAVOURS.includes(flavour)) throw new Error(`--flavour must be one of ${FLAVOURS.join(", ")}`);
  if (values.machine !== undefined && values.machine !== "qemu") throw new Error("--machine takes qemu");
  const emulator = await startRedfishEmulator({
    port: Number(values.port),
    host: values.host,
    ...(values["tls-dir"] ? { tlsDir: values["tls-dir"] } : {}),
    powerDelayMs: Number(values["power-delay-ms"]),
    ...(values["post-delay-ms"] ? { postDelayMs: Number(values["post-delay-ms"]) } : {}),
    latencyMs: Number(values["latency-ms"]),
    username: values.username,
    password: values.password,
    ...(values.machine ? { machines: printingQemu() } : {}),
    systems: Array.from({ length: count }, () => ({
      flavour,
      fcPorts: Number(values["fc-ports"]),
      ...(values.machine ? { machine: true } : {}),
      ...(values["remote-drive"] ? { remoteDrive: true } : {}),
    })),
  });

  console.log(`redfish emulator on ${emulator.url} (CA: ${emulator.tlsDir}/ca.pem)`);
  for (const id of emulator.systemIds()) {
    const s = emulator.system(id);
    const macs = s.functions.filter((f) => f.capabilities.includes("iSCSI")).map((f) => f.mac).join(", ");
    const wwpns = s.functions.filter((f) => f.fc).map((f) => f.fc!.wwpn).join(", ");
    console.log(`  ${emulator.url}/redfish/v1/Systems/${id} (${s.flavour})  iSCSI ports: ${macs}${wwpns ? `  FC ports: ${wwpns}` : ""}`);
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
