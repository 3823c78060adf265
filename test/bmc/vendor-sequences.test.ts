/**
 * Each vendor and generation, through the relay's executor and driver against an emulator flavour
 * as strict as the BMC it imitates (one emulator per test: vendors share manager URIs): a deploy
 * (configure, power_on, await) and an undeploy, and a rollback before the reboot, each asserting
 * the writes the vendor documents, in order, and that the system ends as it was found.
 */
import { afterEach, describe, expect, it } from "vitest";
import { startRedfishEmulator, type RedfishEmulator, type SystemSnapshot, type SystemSpec } from "../../lab/redfish-emulator";
import type { BmcEvidence } from "../../lib/bmc/claims";
import { RedfishDriver } from "../../lib/bmc/redfish-driver";
import type { CommandBody, CommandOutcome, FcBootSpecWire, IscsiBootSpec } from "../../lib/relay/protocol";
import { CommandExecutor } from "../../relay/executor";
import { bmcState } from "../support/bmc-state";
import { ISCSI_WRITES, LC, RESET, writesSince, type IscsiFlavour } from "../support/vendor-writes";

const open: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  for (const o of open.splice(0).reverse()) await o.close();
});

const TARGET = "iqn.2010-10.org.openstack:volume-vendor-1";

interface Bench {
  emu: RedfishEmulator;
  found: SystemSnapshot;
  run(body: Omit<CommandBody, "bmc" | "evidence"> & Record<string, unknown>): Promise<{ out: CommandOutcome; writes: string[] }>;
  spec: IscsiBootSpec;
  evidence(): BmcEvidence;
}

async function bench(spec: SystemSpec, iscsi: Partial<IscsiBootSpec> = {}): Promise<Bench> {
  const emu = await startRedfishEmulator({ port: 0, powerDelayMs: 15, taskDelayMs: 10 });
  const driver = new RedfishDriver({ timeoutMs: 3_000, pollIntervalMs: 10, settingsApplyTimeoutMs: 5_000, taskTimeoutMs: 2_000, discoveryTtlMs: 0 });
  open.push(emu, driver);
  const found = emu.addSystem({ id: "s1", ...spec });
  const mac = found.functions.find((f) => f.capabilities.includes("iSCSI") && !f.foreign && !f.iSCSIBoot.PrimaryTargetName)?.mac;
  const ex = new CommandExecutor({ driver, credentials: new Map([["lab", { username: "admin", password: "password", ca: emu.caPem }]]) });
  const bmc = { driver: "auto" as const, address: emu.url, system_id: "s1", credentials_ref: "lab", tls: { verify: true } };
  let evidence: BmcEvidence = { claims: [] };
  const full: IscsiBootSpec = {
    ...(mac ? { mac_address: mac } : {}),
    initiator_name: "iqn.2026-12.org.example.sanboot:vendor-node",
    network: { mode: "dhcp" },
    targets: [{ name: TARGET, address: "192.0.2.10", port: 3260, lun: 1 }],
    auth: { method: "CHAP", username: "chap-user", secret: "chap-secret-vendor" },
    boot_mode: "uefi",
    ...iscsi,
  };
  return {
    emu,
    found,
    spec: full,
    evidence: () => evidence,
    run: async (body) => {
      const from = emu.requests().length;
      const out = await ex.execute({ ...body, bmc, evidence } as CommandBody, { record: async (e) => void (evidence = e) });
      return { out, writes: writesSince(emu, from, "s1") };
    },
  };
}

async function deployAndUndeploy(b: Bench) {
  const configure = await b.run({ type: "configure_san_boot", iscsi: b.spec });
  expect(configure.out).toMatchObject({ ok: true, result: { changed: true } });
  const power = await b.run({ type: "power_on", boot_mode: "uefi", boot_override: "once", san_targets: [TARGET] });
  expect(power.out).toMatchObject({ ok: true });
  const up = await b.run({ type: "await_power_on" });
  expect(up.out).toMatchObject({ ok: true, result: { boot_confirmed: true } });
  const booted = b.emu.system("s1").boots.at(-1)!.booted;
  expect(booted).toMatchObject({ kind: "iscsi", target: TARGET });
  const undeploy = await b.run({ type: "clear_san_boot" });
  expect(undeploy.out).toMatchObject({ ok: true, result: { changed: true } });
  expect(bmcState(b.emu.system("s1"))).toEqual(bmcState(b.found));
  const again = await b.run({ type: "clear_san_boot" });
  expect(again.writes).toEqual([]);
  return { configure: configure.writes, power: power.writes, undeploy: undeploy.writes, booted };
}

const SPEC: Record<IscsiFlavour, [Partial<SystemSpec>, Partial<IscsiBootSpec>]> = {
  generic: [{ flavour: "generic" }, {}],
  "generic-settings": [{ flavour: "generic-settings" }, {}],
  dell: [{ flavour: "dell" }, {}],
  dell10: [{ flavour: "dell10" }, {}],
  // iLO's software initiator needs the NIC's NicBootN NetworkBoot: these nodes let sanboot set it
  hpe: [{ flavour: "hpe" }, { bios_changes: "allow" }],
  // XCC takes no initiator DHCP
  lenovo: [{ flavour: "lenovo" }, { network: { mode: "static", address: "192.0.2.31", netmask: "255.255.255.0", gateway: "192.0.2.1" } }],
};

describe.each(Object.keys(ISCSI_WRITES) as IscsiFlavour[])("%s: the writes the vendor documents", (flavour) => {
  const documented = ISCSI_WRITES[flavour];

  it("configure, boot and undeploy, the system left as found, a second undeploy writing nothing", async () => {
    const seq = await deployAndUndeploy(await bench(...SPEC[flavour]));
    expect(seq.configure).toEqual(documented.configure);
    expect(seq.power).toEqual(documented.power);
    expect(seq.undeploy).toEqual(documented.undeploy);
  });

  it("a rollback before the reboot: the staged write withdrawn or what was there staged again, no reset", async () => {
    const b = await bench(...SPEC[flavour]);
    expect((await b.run({ type: "configure_san_boot", iscsi: b.spec })).writes).toEqual(documented.configure);
    const rollback = await b.run({ type: "clear_san_boot" });
    expect(rollback.out).toMatchObject({ ok: true, result: { changed: true } });
    expect(rollback.writes).toEqual(documented.rollback);
    expect(bmcState(b.emu.system("s1"))).toEqual(bmcState(b.found));
  });
});

describe("Dell iDRAC9", () => {
  it("a rollback before the reboot says it withdrew our job (iDRAC refuses new values while it waits)", async () => {
    const b = await bench({ flavour: "dell" });
    await b.run({ type: "configure_san_boot", iscsi: b.spec });
    const rollback = await b.run({ type: "clear_san_boot" });
    expect(rollback.out).toMatchObject({ ok: true, result: { changed: true, changes: [{ kind: "settings", action: "staged write withdrawn" }] } });
  });

  it("a second configure with other values while our job waits deletes it first, then stages anew", async () => {
    const b = await bench({ flavour: "dell" });
    await b.run({ type: "configure_san_boot", iscsi: b.spec });
    const moved = await b.run({ type: "configure_san_boot", iscsi: { ...b.spec, targets: [{ ...b.spec.targets[0]!, lun: 2 }] } });
    expect(moved.out).toMatchObject({ ok: true, result: { changed: true } });
    expect(moved.writes).toEqual(["DELETE /Managers/iDRAC.Embedded.1/Jobs/JID 200", LC, "PATCH /{fn}/Settings 202"]);
  });

  it("waits while the Lifecycle Controller is not ready, then configures", async () => {
    const b = await bench({ flavour: "dell" });
    b.emu.setFaults("s1", { lcNotReady: 3 });
    const out = await b.run({ type: "configure_san_boot", iscsi: b.spec });
    expect(out.out).toMatchObject({ ok: true });
    expect(out.writes).toEqual([LC, LC, LC, LC, "PATCH /{fn}/Settings 202"]);
  });

  it("in UEFI mode without NIC iSCSI, programs the BIOS initiator (IscsiDev1Con1*) through Bios/Settings and a job", async () => {
    const b = await bench({ flavour: "dell", dellBiosIscsi: true });
    const seq = await deployAndUndeploy(b);
    expect(seq.configure).toEqual([LC, "PATCH /Systems/{s}/Bios/Settings 202"]);
    expect(seq.undeploy).toEqual([RESET, LC, "PATCH /Systems/{s}/Bios/Settings 202", RESET, RESET, "PATCH /Systems/{s} 200"]);
  });
});

describe("Dell iDRAC10", () => {
  it("writes the override to the system's settings object, never with BootSourceOverrideMode", async () => {
    const b = await bench({ flavour: "dell10" });
    await deployAndUndeploy(b);
    const systemWrites = b.emu.system("s1").patches.filter((p) => /Systems\/s1\/Settings$/.test(p.path));
    expect(systemWrites.length).toBeGreaterThan(0);
    expect(JSON.stringify(systemWrites)).not.toContain("BootSourceOverrideMode");
  });
});

describe("HPE iLO", () => {
  it("makes the attempt in a free slot with its own instance, CHAP as the schema spells it, a SAM-2 LUN", async () => {
    const b = await bench({ flavour: "hpe" }, { bios_changes: "allow" });
    await b.run({ type: "configure_san_boot", iscsi: b.spec });
    expect(b.emu.system("s1").patches.find((p) => p.path.endsWith("/Bios/iScsi/Settings"))!.body).toMatchObject({
      iSCSISources: [{ iSCSIAttemptInstance: 1, iSCSIAuthenticationMethod: "CHAP", iSCSILUN: "1", iSCSIAttemptName: "sanboot-1" }],
    });
  });

  it("maps the node's MAC to its NIC source through the BIOS mappings, not the list order", async () => {
    const b = await bench({ flavour: "hpe" }, { bios_changes: "allow" });
    await b.run({ type: "configure_san_boot", iscsi: b.spec });
    const body = b.emu.system("s1").patches.find((p) => p.path.endsWith("/Bios/iScsi/Settings"))!.body as { iSCSISources: Array<{ iSCSINicSource?: string }> };
    // port 1 of the slot NIC is NicBoot2 in this BIOS's mappings
    expect(body.iSCSISources[0]!.iSCSINicSource).toBe("NicBoot2");
  });

  it("without BIOS changes allowed: BMC_CAPABILITY_MISSING naming the attribute, nothing written", async () => {
    const b = await bench({ flavour: "hpe" });
    const out = await b.run({ type: "configure_san_boot", iscsi: b.spec });
    expect(out.out).toMatchObject({ ok: false, error: { code: "BMC_CAPABILITY_MISSING", message: expect.stringMatching(/NicBoot2 must be NetworkBoot/) } });
    expect(out.writes).toEqual([]);
  });
});

describe("Fibre Channel", () => {
  const WWPNS = ["50:0a:09:82:88:e2:b9:b1", "50:0a:09:82:98:e2:b9:b1"];

  async function fcBench(flavour: "generic" | "dell" | "hpe") {
    const b = await bench({ flavour, fcPorts: 1 });
    const fc: FcBootSpecWire = { boot_mode: "uefi", targets: WWPNS.map((wwpn) => ({ wwpn, lun: 1 })) };
    const configure = await b.run({ type: "configure_fc_boot", fc });
    expect(configure.out).toMatchObject({ ok: true, result: { changed: true } });
    const sent = b.emu.system("s1").patches.find((p) => /NetworkDeviceFunctions\/FC/.test(p.path))!.body;
    const power = await b.run({ type: "power_on", boot_mode: "uefi", boot_override: "once", san_targets: WWPNS });
    expect(power.out).toMatchObject({ ok: true });
    expect((await b.run({ type: "await_power_on" })).out).toMatchObject({ ok: true, result: { boot_confirmed: true } });
    const booted = b.emu.system("s1").boots.at(-1)!.booted;
    const undeploy = await b.run({ type: "clear_san_boot" });
    expect(undeploy.out).toMatchObject({ ok: true, result: { changed: true } });
    expect(bmcState(b.emu.system("s1"))).toEqual(bmcState(b.found));
    return { sent, booted, configure: configure.writes };
  }

  it("generic: BootTargets and BootMode on the HBA port, booted, put back", async () => {
    const { sent, booted } = await fcBench("generic");
    expect(sent).toMatchObject({ BootMode: "FibreChannel", FibreChannel: { BootTargets: [{ WWPN: "50:0A:09:82:88:E2:B9:B1", LUNID: "1" }, { WWPN: "50:0A:09:82:98:E2:B9:B1", LUNID: "1" }] } });
    expect(booted).toMatchObject({ kind: "fc", wwpn: "50:0A:09:82:88:E2:B9:B1" });
  });

  it("iDRAC: both fixed slots are sent, ours in them, through /Settings with a job", async () => {
    const { sent, booted, configure } = await fcBench("dell");
    expect(configure).toEqual([LC, "PATCH /{fn}/Settings 202"]);
    expect((sent as { FibreChannel: { BootTargets: unknown[] } }).FibreChannel.BootTargets).toHaveLength(2);
    expect(booted).toMatchObject({ kind: "fc", wwpn: "50:0A:09:82:88:E2:B9:B1" });
  });

  it("iLO: BootTargetSource set to NetworkDeviceFunction with the targets (UEFI would ignore them), and put back", async () => {
    const { sent, booted } = await fcBench("hpe");
    expect(sent).toMatchObject({ Oem: { Hpe: { BootTargetSource: "NetworkDeviceFunction" } }, BootMode: "FibreChannel" });
    expect(booted).toMatchObject({ kind: "fc", wwpn: "50:0A:09:82:88:E2:B9:B1" });
  });
});

describe("Lenovo XCC", () => {
  const statik = { network: { mode: "static" as const, address: "192.0.2.31", netmask: "255.255.255.0", gateway: "192.0.2.1" } };

  it("writes only the documented subset at the function's /Pending", async () => {
    const b = await bench({ flavour: "lenovo" }, statik);
    await b.run({ type: "configure_san_boot", iscsi: b.spec });
    const sent = b.emu.system("s1").patches.find((p) => p.path.endsWith("/Pending"))!.body as { iSCSIBoot: Record<string, unknown> };
    expect(Object.keys(sent)).toEqual(["iSCSIBoot"]);
    expect(sent.iSCSIBoot).not.toHaveProperty("IPMaskDNSViaDHCP");
    expect(sent.iSCSIBoot).not.toHaveProperty("SecondaryTargetName");
  });

  it.each([
    ["initiator DHCP", {}, /DHCP/],
    ["a second path", { ...statik, targets: [{ name: TARGET, address: "192.0.2.10", port: 3260, lun: 1 }, { name: TARGET, address: "192.0.2.11", port: 3260, lun: 1 }] }, /second iSCSI path/],
  ])("refuses %s, naming it, with nothing written", async (_n, iscsi, why) => {
    const b = await bench({ flavour: "lenovo" }, iscsi);
    const out = await b.run({ type: "configure_san_boot", iscsi: b.spec });
    expect(out.out).toMatchObject({ ok: false, error: { code: "BMC_CAPABILITY_MISSING", message: expect.stringMatching(why) } });
    expect(out.writes).toEqual([]);
  });
});

describe("Supermicro", () => {
  it("refuses with BMC_CAPABILITY_MISSING saying what is missing, nothing written, power as it was", async () => {
    const b = await bench({ flavour: "supermicro", powerState: "On" });
    const out = await b.run({ type: "configure_san_boot", iscsi: b.spec });
    expect(out.out).toMatchObject({ ok: false, error: { code: "BMC_CAPABILITY_MISSING" } });
    expect(out.writes).toEqual([]);
    expect(bmcState(b.emu.system("s1"))).toEqual(bmcState(b.found));
  });
});
