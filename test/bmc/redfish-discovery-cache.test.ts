/**
 * The driver walks a BMC's tree (Systems, Chassis, NetworkAdapters, function collections) once and
 * reuses the links it found, reading the resources themselves fresh every time; a link that
 * answers 404 (the BMC renumbered its devices) sends it walking again.
 */
import { afterEach, describe, expect, it } from "vitest";
import { startRedfishEmulator, type RedfishEmulator } from "../../lab/redfish-emulator";
import { memoryGuard, type BmcEndpoint, type SanIscsiSpec } from "../../lib/bmc/driver";
import { DiscoveryCache } from "../../lib/bmc/redfish-discovery-cache";
import { RedfishDriver } from "../../lib/bmc/redfish-driver";
import { RedfishHttpError } from "../../lib/bmc/redfish-transport";

const spec: SanIscsiSpec = {
  initiator_name: "iqn.2026-11.org.example.sanboot:node-7",
  network: { mode: "dhcp" },
  targets: [{ name: "iqn.2010-10.org.openstack:volume-0007", address: "192.0.2.10", port: 3260, lun: 0 }],
  auth: { method: "None" },
  boot_mode: "uefi",
};

const open: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  for (const o of open.splice(0).reverse()) await o.close();
});

async function lab(port = 0): Promise<RedfishEmulator> {
  const emu = await startRedfishEmulator({ port, powerDelayMs: 10 });
  open.push(emu);
  return emu;
}

function newDriver(opts: ConstructorParameters<typeof RedfishDriver>[0] = {}): RedfishDriver {
  const d = new RedfishDriver({ timeoutMs: 3_000, pollIntervalMs: 10, ...opts });
  open.push(d);
  return d;
}

const endpoint = (emu: RedfishEmulator, id: string): BmcEndpoint => ({ address: emu.url, system_id: id, username: "admin", password: "password", tls: { ca: emu.caPem } });

describe("discovery cache", () => {
  it("walks the tree once: a later call reads only the system and its functions", async () => {
    const emu = await lab();
    emu.addSystem({ id: "walk-1" });
    const ep = endpoint(emu, "walk-1");
    const driver = newDriver();

    await driver.readFcInventory(ep);
    const first = emu.system("walk-1").requestCount;
    await driver.readFcInventory(ep);
    const second = emu.system("walk-1").requestCount - first;
    const functions = emu.system("walk-1").functions.filter((f) => !f.foreign).length;
    expect(second).toBe(1 + functions);
    expect(first).toBeGreaterThan(second);
  });

  it("keeps nothing with a TTL of 0", async () => {
    const emu = await lab();
    emu.addSystem({ id: "walk-2" });
    const ep = endpoint(emu, "walk-2");
    const driver = newDriver({ discoveryTtlMs: 0 });
    await driver.readFcInventory(ep);
    const first = emu.system("walk-2").requestCount;
    await driver.readFcInventory(ep);
    expect(emu.system("walk-2").requestCount - first).toBe(first);
  });

  it("walks again when a remembered link answers 404, and the call still succeeds", async () => {
    const before = await lab();
    before.addSystem({ id: "moved" });
    const port = before.port;
    const driver = newDriver();
    const oldUri = (await driver.configureIscsiBoot(endpoint(before, "moved"), spec, memoryGuard())).function_uri;
    await open.splice(open.indexOf(before), 1)[0]!.close();
    await new Promise((r) => setTimeout(r, 100)); // the driver's pooled connection sees the close

    // Same BMC, same system id; its NICs now sit in another slot.
    const after = await lab(port);
    after.addSystem({ id: "filler" });
    after.addSystem({ id: "moved" });
    const out = await driver.configureIscsiBoot(endpoint(after, "moved"), spec, memoryGuard());
    expect(out.function_uri).not.toBe(oldUri);
    expect(out.changed).toBe(true);
    expect(after.system("moved").functions.find((f) => f.uri === out.function_uri)!.iSCSIBoot.PrimaryTargetName).toBe(spec.targets[0]!.name);
  });
});

describe("DiscoveryCache", () => {
  const notFound = () => new RedfishHttpError(404, "BMC_REJECTED", "BMC answered 404");

  it("walks again once the TTL has passed", async () => {
    let now = 0;
    const cache = new DiscoveryCache(1_000, () => now);
    let walks = 0;
    const walk = async () => ++walks;
    expect(await cache.through("bmc", "fns", walk, async (v) => v)).toBe(1);
    now = 999;
    expect(await cache.through("bmc", "fns", walk, async (v) => v)).toBe(1);
    now = 1_000;
    expect(await cache.through("bmc", "fns", walk, async (v) => v)).toBe(2);
  });

  it("retries once after a 404 on a remembered value, and not after a 404 on a fresh one", async () => {
    const cache = new DiscoveryCache(60_000, () => 0);
    let walks = 0;
    const walk = async () => ++walks;
    await cache.through("bmc", "fns", walk, async (v) => v);
    const seen: number[] = [];
    const out = await cache.through("bmc", "fns", walk, async (v) => {
      seen.push(v);
      if (v === 1) throw notFound();
      return v;
    });
    expect({ out, seen }).toEqual({ out: 2, seen: [1, 2] });

    cache.forget("bmc");
    await expect(cache.through("bmc", "fns", walk, async () => Promise.reject(notFound()))).rejects.toBeInstanceOf(RedfishHttpError);
    expect(walks).toBe(3);
  });
});
