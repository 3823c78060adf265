/**
 * CLI: run the lab Cinder emulator.
 *   tsx lab/cinder-emulator/main.ts --port 8776 [--host 127.0.0.1] [--latency-ms 0]
 *     [--create-delay-ms 200] [--max-version 3.70] [--portal 127.0.0.1:3260 --portal 127.0.0.2:3260]
 *     [--keystone-url http://127.0.0.1:5000] [--service-host cinder-lab]
 *     [--fc-target-wwpn 500a098186679c7d --fc-target-wwpn 500a098196679c7d] [--fc-volume-type fc]
 *     [--data-dir /var/tmp/sanboot-volumes [--iscsi-port 3260] [--iscsi-trace]]
 *     [--export-ms 800 [--api-workers 8] [--rpc-timeout-ms 60000]]
 * A --fc-target-wwpn adds the Fibre Channel backend (volume type --fc-volume-type, default "fc").
 * A --data-dir makes the iSCSI volumes real: sparse files there, exported by a real iSCSI target
 * on 127.0.0.1 (port --iscsi-port, default a free one) while attached; --iscsi-trace prints
 * every iSCSI PDU. An --export-ms queues as a real Cinder does under load (queueing.ts): exports
 * one at a time that long each, --api-workers requests served at once, cinder-api's 500 after
 * --rpc-timeout-ms while the export still happens.
 */
import { parseArgs } from "node:util";
import { startCinderEmulator } from "./server";

const { values } = parseArgs({
  options: {
    port: { type: "string", default: "8776" },
    host: { type: "string", default: "127.0.0.1" },
    "latency-ms": { type: "string" },
    "create-delay-ms": { type: "string" },
    "max-version": { type: "string" },
    portal: { type: "string", multiple: true },
    "keystone-url": { type: "string" },
    "service-host": { type: "string" },
    "fc-target-wwpn": { type: "string", multiple: true },
    "fc-volume-type": { type: "string" },
    "data-dir": { type: "string" },
    "iscsi-port": { type: "string" },
    "iscsi-trace": { type: "boolean" },
    "export-ms": { type: "string" },
    "api-workers": { type: "string" },
    "rpc-timeout-ms": { type: "string" },
  },
});

function int(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} must be a non-negative integer, got ${text}`);
  return n;
}

async function main(): Promise<void> {
  const emulator = await startCinderEmulator({
    port: int("port", values.port),
    host: values.host,
    latencyMs: int("latency-ms", values["latency-ms"]),
    createDelayMs: int("create-delay-ms", values["create-delay-ms"]),
    maxVersion: values["max-version"],
    portals: values.portal,
    keystoneUrl: values["keystone-url"],
    serviceHost: values["service-host"],
    ...(values["fc-target-wwpn"]?.length
      ? { fcBackend: { targetWwpns: values["fc-target-wwpn"], ...(values["fc-volume-type"] ? { volumeType: values["fc-volume-type"] } : {}) } }
      : {}),
    ...(values["export-ms"] !== undefined
      ? {
          queueing: {
            exportMs: int("export-ms", values["export-ms"])!,
            ...(values["api-workers"] ? { apiWorkers: int("api-workers", values["api-workers"])! } : {}),
            ...(values["rpc-timeout-ms"] ? { rpcTimeoutMs: int("rpc-timeout-ms", values["rpc-timeout-ms"])! } : {}),
          },
        }
      : {}),
    ...(values["data-dir"]
      ? {
          dataPlane: {
            dir: values["data-dir"],
            port: int("iscsi-port", values["iscsi-port"]) ?? 0,
            ...(values["iscsi-trace"] ? { trace: (line: string) => console.log(`iscsi ${line}`) } : {}),
          },
        }
      : {}),
  });
  const auth = values["keystone-url"] ? `tokens validated by Keystone at ${values["keystone-url"]}` : "noauth: X-Auth-Token user:<hex project>";
  console.log(`cinder emulator listening on ${emulator.url} (${auth})`);
  if (emulator.iscsiPortal) console.log(`iSCSI target at ${emulator.iscsiPortal}, volumes in ${values["data-dir"]}`);
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      void emulator.close().then(() => process.exit(0));
    });
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
