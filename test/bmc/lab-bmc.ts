/**
 * One Redfish emulator and one driver for a test file, started before its first test and closed
 * after its last, and a way to add a system and get the endpoint the driver reaches it by.
 */
import { Agent, request } from "undici";
import { afterAll, beforeAll } from "vitest";
import { startRedfishEmulator, type RedfishEmulator, type SystemSpec } from "../../lab/redfish-emulator";
import { memoryGuard, type BmcEndpoint, type WriteGuard } from "../../lib/bmc/driver";
import type { BmcEvidence } from "../../lib/bmc/claims";
import { RedfishDriver, type RedfishDriverOptions } from "../../lib/bmc/redfish-driver";

export interface LabBmc {
  readonly emu: RedfishEmulator;
  readonly driver: RedfishDriver;
  /**
   * adds a system (id `<prefix>-<n>`) and answers its id, endpoint, and a guard that keeps the
   * evidence of every write made through it (what the relay would store with the service)
   */
  system(spec?: SystemSpec): { id: string; ep: BmcEndpoint; guard: WriteGuard & { evidence: BmcEvidence } };
}

export function useLabBmc(opts: {
  prefix: string;
  driver: RedfishDriverOptions;
  emulator?: Parameters<typeof startRedfishEmulator>[0];
  defaults?: SystemSpec;
}): LabBmc {
  let emu: RedfishEmulator | undefined;
  const driver = new RedfishDriver(opts.driver);
  let n = 0;
  beforeAll(async () => {
    emu = await startRedfishEmulator({ port: 0, ...opts.emulator });
  });
  afterAll(async () => {
    await driver.close();
    await emu?.close();
  });
  return {
    get emu() {
      if (!emu) throw new Error("the emulator starts in beforeAll");
      return emu;
    },
    driver,
    system(spec = {}) {
      const id = `${opts.prefix}-${++n}`;
      emu!.addSystem({ id, ...opts.defaults, ...spec });
      return { id, ep: { address: emu!.url, system_id: id, username: "admin", password: "password", tls: { ca: emu!.caPem } }, guard: memoryGuard() };
    },
  };
}

/** Another client of the BMC (an operator's tool): plain Redfish PATCHes over HTTPS. */
export function operatorClient(emu: { url: string; caPem: string }, password = "password", username = "admin") {
  const dispatcher = new Agent({ connect: { ca: emu.caPem } });
  const auth = `Basic ${Buffer.from(`${username}:${password}`).toString("base64")}`;
  return {
    async patch(path: string, body: unknown): Promise<number> {
      const res = await request(`${emu.url}${path}`, { method: "PATCH", dispatcher, headers: { authorization: auth, "content-type": "application/json" }, body: JSON.stringify(body) });
      await res.body.text();
      return res.statusCode;
    },
    close: () => dispatcher.close(),
  };
}
