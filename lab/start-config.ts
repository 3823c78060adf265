/**
 * Configuration of `npm start` (lab/start.ts): ports, the dev token, timings. Environment
 * variables with defaults, parsed once with zod; `--help` prints this table.
 */
import { resolve } from "node:path";
import { z } from "zod";

const port = z.coerce.number().int().min(1).max(65535);

interface Setting {
  env: string;
  schema: z.ZodType;
  default: string;
  help: string;
}

const SETTINGS = {
  httpPort: { env: "SANBOOT_HTTP_PORT", schema: port, default: "3000", help: "the service's HTTP API (serverless-offline)" },
  lambdaPort: { env: "SANBOOT_LAMBDA_PORT", schema: port, default: "3002", help: "serverless-offline's Lambda invoke endpoint (step chaining, sweeps)" },
  dynamodbPort: { env: "SANBOOT_DYNAMODB_PORT", schema: port, default: "4567", help: "the embedded DynamoDB-compatible store (dynalite, in memory)" },
  cinderPort: { env: "SANBOOT_CINDER_PORT", schema: port, default: "8776", help: "the Cinder v3 emulator" },
  bmcPort: { env: "SANBOOT_BMC_PORT", schema: port, default: "8443", help: "the Redfish BMC emulator (HTTPS)" },
  sweepSeconds: { env: "SANBOOT_SWEEP_SECONDS", schema: z.coerce.number().positive().max(3600), default: "5", help: "how often the local ticker invokes the sweeper" },
  devToken: { env: "SANBOOT_DEV_TOKEN", schema: z.string().regex(/^[\x21-\x7e]{8,256}$/, "must be 8 to 256 printable characters"), default: "sanboot-dev-token", help: "the caller token for the lab project (local mode only)" },
  powerDelayMs: { env: "SANBOOT_BMC_POWER_DELAY_MS", schema: z.coerce.number().int().min(0), default: "2000", help: "how long an emulated server takes to power on or off" },
  localDir: { env: "SANBOOT_LOCAL_DIR", schema: z.string().min(1), default: ".local", help: "where the lab CA, relay token and credentials are written" },
  logLevel: { env: "SANBOOT_LOG_LEVEL", schema: z.enum(["debug", "info", "warn", "error"]), default: "info", help: "the functions' log level" },
} as const satisfies Record<string, Setting>;

type Key = keyof typeof SETTINGS;
export type StartConfig = { [K in Key]: z.output<(typeof SETTINGS)[K]["schema"]> } & { localDir: string };

export class StartConfigError extends Error {
  override readonly name = "StartConfigError";
}

export function parseStartConfig(env: Readonly<Record<string, string | undefined>>): StartConfig {
  const out: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [key, s] of Object.entries(SETTINGS) as Array<[Key, Setting]>) {
    const raw = env[s.env];
    const parsed = s.schema.safeParse(raw === undefined || raw === "" ? s.default : raw);
    if (parsed.success) out[key] = parsed.data;
    else problems.push(`${s.env}: ${parsed.error.issues[0]?.message ?? "is invalid"}`);
  }
  if (problems.length) throw new StartConfigError(problems.join("; "));
  const config = out as StartConfig;
  config.localDir = resolve(config.localDir);
  const ports = (["httpPort", "lambdaPort", "dynamodbPort", "cinderPort", "bmcPort"] as const).map((k) => [SETTINGS[k].env, config[k]] as const);
  const seen = new Map<number, string>();
  for (const [name, p] of ports) {
    if (seen.has(p)) throw new StartConfigError(`${name} and ${seen.get(p)} are both ${p}`);
    seen.set(p, name);
  }
  return config;
}

export const START_USAGE = `usage: npm start [-- --help] [-- --qemu [--qemu-mode uefi|bios]]

Runs sanboot on this machine: dynalite, the Cinder and Redfish emulators, the service under
serverless-offline, a sweeper ticker and a relay agent for site "lab"; seeds a demo node and a
bootable demo volume, prints curl lines to try, and stops everything on Ctrl-C.

options:
  --qemu              the demo node is a real QEMU virtual machine behind the lab BMC, and the
                      demo volume a real disk (the Cinder emulator exports it over iSCSI while it
                      is attached) with a small OS on it that prints a marker: booting the node
                      boots the VM from the volume through iPXE, its serial console shows here as
                      [bmc] [vm] lines, and the request goes active once the OS runs. Needs QEMU
                      and the image tools (Debian: qemu-system-x86 ipxe-qemu ovmf
                      grub-efi-amd64-bin mtools dosfstools qemu-utils qemu-block-extra)
  --qemu-mode MODE    the demo node's boot mode with --qemu: uefi (OVMF, default) or bios (SeaBIOS)

environment (default):
${Object.values(SETTINGS)
  .map((s: Setting) => `  ${s.env.padEnd(28)} ${`(${s.default})`.padEnd(20)} ${s.help}`)
  .join("\n")}`;
