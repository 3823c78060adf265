/**
 * One Redfish emulator and one driver for a test file, started before its first test and closed
 * after its last, and a way to add a system and get the endpoint the driver reaches it by.
 */
import { afterAll, beforeAll } from "vitest";
import { startRedfishEmulator, type RedfishEmulator, type SystemSpec } from "../../lab/redfish-emulator";
import type { BmcEndpoint } from "../../lib/bmc/driver";
import { RedfishDriver, type RedfishDriverOptions } from "../../lib/bmc/redfish-driver";

export interface LabBmc {
  readonly emu: RedfishEmulator;
  readonly driver: RedfishDriver;
  /** adds a system (id `<prefix>-<n>`) and answers its id and endpoint */
  system(spec?: SystemSpec): { id: string; ep: BmcEndpoint };
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
      return { id, ep: { address: emu!.url, system_id: id, username: "admin", password: "password", tls: { ca: emu!.caPem } } };
    },
  };
}
