/**
 * The driver walks a BMC's tree (Systems, Chassis, NetworkAdapters, function collections, boot
 * options) once and reuses the structure it found, reading the resources a decision rests on
 * fresh every time; a link that answers 404 (the BMC renumbered its devices) or a 412 (someone
 * wrote in between) makes it forget what it knew of the system.
 */
import { afterEach, describe, expect, it } from "vitest";
import { startRedfishEmulator, type RedfishEmulator } from "../../lab/redfish-emulator";
import { memoryGuard, type BmcEndpoint, type SanIscsiSpec } from "../../lib/bmc/driver";
import { DiscoveryCache, discoveryKey } from "../../lib/bmc/redfish-discovery-cache";
import { RedfishDriver } from "../../lib/bmc/redfish-driver";
import { canNameSanDevice } from "../../lib/bmc/redfish-override";
import { RedfishAgentPool, RedfishTransport } from "../../lib/bmc/redfish-transport";
import { RedfishWriter } from "../../lib/bmc/redfish-writer";
import { GENERIC } from "../../lib/bmc/vendors/quirks";

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

/** The requests the emulator answered from `from` on, as "METHOD /path" with the system's prefix cut. */
function since(emu: RedfishEmulator, from: number, id: string): string[] {
  return emu.requests().slice(from).map((r) => `${r.method} ${r.path.replace(`/redfish/v1/Systems/${id}`, "~").replace(`/redfish/v1/Chassis/${id}`, "~chassis")}`);
}

describe("discovery cache", () => {
  it("walks the tree once: a later inventory reads only the functions", async () => {
    const emu = await lab();
    emu.addSystem({ id: "walk-1" });
    const ep = endpoint(emu, "walk-1");
    const driver = newDriver();

    await driver.readFcInventory(ep);
    const first = emu.requests().length;
    await driver.readFcInventory(ep);
    const second = since(emu, first, "walk-1");
    const functions = emu.system("walk-1").functions.filter((f) => !f.foreign).length;
    expect(second).toHaveLength(functions);
    expect(second.every((r) => r.includes("/NetworkDeviceFunctions/"))).toBe(true);
    expect(first).toBeGreaterThan(second.length);
  });

  it("keeps nothing with a TTL of 0", async () => {
    const emu = await lab();
    emu.addSystem({ id: "walk-2" });
    const ep = endpoint(emu, "walk-2");
    const driver = newDriver({ discoveryTtlMs: 0 });
    await driver.readFcInventory(ep);
    const first = emu.requests().length;
    await driver.readFcInventory(ep);
    expect(emu.requests().length - first).toBe(first);
  });

  it("walks again once the TTL has passed", async () => {
    const emu = await lab();
    emu.addSystem({ id: "walk-3" });
    const ep = endpoint(emu, "walk-3");
    let now = 1_000_000;
    const driver = newDriver({ discoveryTtlMs: 60_000, now: () => now });
    await driver.readFcInventory(ep);
    let from = emu.requests().length;
    now += 59_999;
    await driver.readFcInventory(ep);
    expect(since(emu, from, "walk-3")).not.toContain("GET /redfish/v1/Systems");
    from = emu.requests().length;
    now += 1;
    await driver.readFcInventory(ep);
    expect(since(emu, from, "walk-3")).toContain("GET /redfish/v1/Systems");
  });

  it("a configure that knows its port from the walk reads that function only, then writes it", async () => {
    const emu = await lab();
    const mac = "02:00:5e:00:00:99";
    emu.addSystem({ id: "port-1", mac });
    const ep = endpoint(emu, "port-1");
    const driver = newDriver({ driver: "redfish" });
    await driver.readFcInventory(ep);
    const from = emu.requests().length;

    const out = await driver.configureIscsiBoot(ep, { ...spec, mac_address: mac }, memoryGuard());
    expect(out.changed).toBe(true);
    const fn = out.function_uri.replace("/redfish/v1/Chassis/port-1", "~chassis");
    expect(since(emu, from, "port-1")).toEqual([`GET ${fn}`, `PATCH ${fn}`]);
    expect(emu.system("port-1").functions.find((f) => f.uri === out.function_uri)!.iSCSIBoot.PrimaryTargetName).toBe(spec.targets[0]!.name);
  });

  it("a configure without a port to name reads every function", async () => {
    const emu = await lab();
    emu.addSystem({ id: "port-2" });
    const ep = endpoint(emu, "port-2");
    const driver = newDriver({ driver: "redfish" });
    await driver.readFcInventory(ep);
    const from = emu.requests().length;
    await driver.configureIscsiBoot(ep, spec, memoryGuard());
    const reads = since(emu, from, "port-2").filter((r) => r.startsWith("GET ") && r.includes("/NetworkDeviceFunctions/"));
    expect(new Set(reads).size).toBe(emu.system("port-2").functions.filter((f) => !f.foreign).length);
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

  it("forgets what it knew of the system after a 412, so the next call walks again", async () => {
    const emu = await lab();
    emu.addSystem({ id: "etag-1" });
    const ep = endpoint(emu, "etag-1");
    const driver = newDriver({ driver: "redfish" });
    await driver.readFcInventory(ep);
    emu.setFaults("etag-1", { etagMismatchOnce: true });
    const out = await driver.configureIscsiBoot(ep, spec, memoryGuard());
    expect(out.changed).toBe(true);
    const from = emu.requests().length;
    await driver.readFcInventory(ep);
    expect(since(emu, from, "etag-1")).toContain("GET /redfish/v1/Systems");
  });

  it("shares nothing between systems of one BMC", async () => {
    const emu = await lab();
    emu.addSystem({ id: "share-1" });
    emu.addSystem({ id: "share-2" });
    const driver = newDriver();
    await driver.readFcInventory(endpoint(emu, "share-1"));
    const from = emu.requests().length;
    await driver.readFcInventory(endpoint(emu, "share-2"));
    expect(since(emu, from, "share-2")).toContain("GET /redfish/v1/Systems");
  });
});

describe("boot options remembered", () => {
  it("a remembered option that would name the SAN device is read again before it is named, and all are read when it changed", async () => {
    const emu = await lab();
    emu.addSystem({ id: "opts-1" });
    const ep = endpoint(emu, "opts-1");
    const pool = new RedfishAgentPool(3_000);
    open.push(pool);
    const w = new RedfishWriter(new RedfishTransport(ep, pool.agentFor(ep)), ep, {
      etagRetries: 1, pollIntervalMs: 10, taskTimeoutMs: 1_000, settingsApplyTimeoutMs: 1_000, sleep: async () => {}, now: Date.now,
    });
    const known = new DiscoveryCache(60_000, Date.now).of(discoveryKey(ep));
    // what a relay would remember had the firmware once listed Boot0001 as the volume's iSCSI device
    const stale = `/redfish/v1/Systems/opts-1/BootOptions/Boot0001`;
    known.remember("boot-options", { [stale]: { ref: "Boot0001", path: `PciRoot(0x0)/MAC(020000000001,0x1)/IPv4(0.0.0.0)/iSCSI(${spec.targets[0]!.name},0x1000,0x0,None,None,None,TCP)` } });
    const from = emu.requests().length;

    const can = await canNameSanDevice({ w, quirks: GENERIC, managerUri: undefined, known }, "/redfish/v1/Systems/opts-1", { mode: "uefi", persistence: "once", targets: [spec.targets[0]!.name] }, [spec.targets[0]!.name]);
    expect(can).toBe(false);
    const reads = since(emu, from, "opts-1");
    // the stale option read again, then every option afresh
    expect(reads.filter((r) => r === "GET ~/BootOptions/Boot0001")).toHaveLength(2);
    expect(reads.filter((r) => r === "GET ~/BootOptions")).toHaveLength(2);
  });
});

describe("discoveryKey", () => {
  const ep: BmcEndpoint = { address: "https://10.0.0.5:443", system_id: "1", username: "root", password: "x", tls: { ca: "CA-1" } };

  it("tells apart BMCs, systems, users and TLS identities", () => {
    const keys = new Set([
      discoveryKey(ep),
      discoveryKey({ ...ep, address: "https://10.0.0.6:443" }),
      discoveryKey({ ...ep, system_id: "2" }),
      discoveryKey({ ...ep, username: "operator" }),
      discoveryKey({ ...ep, tls: { ca: "CA-2" } }),
      discoveryKey({ ...ep, tls: { insecure: true } }),
      discoveryKey({ ...ep, tls: { fingerprint_sha256: "ab:cd" } }),
    ]);
    expect(keys.size).toBe(7);
  });

  it("never holds a password", () => {
    expect(discoveryKey({ ...ep, password: "s3cret-pw" })).not.toContain("s3cret-pw");
    expect(discoveryKey({ ...ep, password: "a" })).toBe(discoveryKey({ ...ep, password: "b" }));
  });
});
