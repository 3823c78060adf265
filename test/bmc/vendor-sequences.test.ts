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
import type { CommandBody, CommandOutcome, IscsiBootSpec } from "../../lib/relay/protocol";
import { CommandExecutor } from "../../relay/executor";
import { bmcState } from "../support/bmc-state";

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
      const writes = emu.requests().slice(from).filter((r) => r.method !== "GET").map((r) => `${r.method} ${short(r.path)} ${r.status}`);
      return { out, writes: withoutRaces(writes) };
    },
  };
}

/** A path as the vendor documents it: the system as {s}, jobs as JID, the adapters as {nic}. */
const short = (p: string) =>
  p
    .replace("/redfish/v1", "")
    .replace(/\/Systems\/s1/, "/Systems/{s}")
    .replace(/\/Chassis\/s1\/NetworkAdapters\/[^/]+\/NetworkDeviceFunctions\/[^/]+/, "/{fn}")
    .replace(/JID_[0-9A-F]+/, "JID");

/**
 * A write refused 412 because the resource changed under it (the system's ETag moves with
 * BootProgress during a POST) and then sent again after a fresh read is one write: whether the
 * race happens depends on timing, the writes that land do not.
 */
const withoutRaces = (writes: string[]) =>
  writes.filter((w, i) => !(w.endsWith(" 412") && writes[i + 1]?.startsWith(w.slice(0, -3))));

const RESET = "POST /Systems/{s}/Actions/ComputerSystem.Reset 204";
const LC = "POST /Managers/iDRAC.Embedded.1/Oem/Dell/DellLCService/Actions/DellLCService.GetRemoteServicesAPIStatus 200";

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

describe("generic Redfish (in place, the DMTF way)", () => {
  it("writes the function in place, boots the SAN option by BootNext, and puts both back", async () => {
    const seq = await deployAndUndeploy(await bench({ flavour: "generic" }));
    expect(seq.configure).toEqual(["PATCH /{fn} 200"]);
    expect(seq.power).toEqual(["PATCH /Systems/{s} 200", RESET]);
    expect(seq.undeploy).toEqual([RESET, "PATCH /{fn} 200", "PATCH /Systems/{s} 200"]);
  });
});

describe("generic Redfish with a settings object", () => {
  it("stages OnReset, parks the override (BiosSetup) for the POST that applies it, then boots the option", async () => {
    const seq = await deployAndUndeploy(await bench({ flavour: "generic-settings" }));
    expect(seq.configure).toEqual(["PATCH /{fn}/Settings 202"]);
    expect(seq.power).toEqual(["PATCH /Systems/{s} 200", RESET, "PATCH /Systems/{s} 200", RESET]);
    // off, undo staged OnReset (never Immediate: it may reset the host), one cycle applies it, override back
    expect(seq.undeploy).toEqual([RESET, "PATCH /{fn}/Settings 202", RESET, RESET, "PATCH /Systems/{s} 200"]);
  });
});

describe("Dell iDRAC9", () => {
  it("asks the Lifecycle Controller, stages through /Settings with a job, names the device from BootOptions", async () => {
    const b = await bench({ flavour: "dell" });
    const seq = await deployAndUndeploy(b);
    expect(seq.configure).toEqual([LC, "PATCH /{fn}/Settings 202"]);
    expect(seq.power).toEqual(["PATCH /Systems/{s} 200", RESET, "PATCH /Systems/{s} 200", RESET]);
    // the CHAP credentials go back while CHAP is still on (iDRAC makes them read-only after), then the rest with a job
    expect(seq.undeploy).toEqual([RESET, LC, "PATCH /{fn}/Settings 200", LC, "PATCH /{fn}/Settings 202", RESET, RESET, "PATCH /Systems/{s} 200"]);
  });

  it("a rollback before the reboot deletes our job (iDRAC refuses new values while it waits): no PATCH, no reset", async () => {
    const b = await bench({ flavour: "dell" });
    expect((await b.run({ type: "configure_san_boot", iscsi: b.spec })).writes).toEqual([LC, "PATCH /{fn}/Settings 202"]);
    const rollback = await b.run({ type: "clear_san_boot" });
    expect(rollback.out).toMatchObject({ ok: true, result: { changed: true, changes: [{ kind: "settings", action: "staged write withdrawn" }] } });
    expect(rollback.writes).toEqual(["DELETE /Managers/iDRAC.Embedded.1/Jobs/JID 200"]);
    expect(bmcState(b.emu.system("s1"))).toEqual(bmcState(b.found));
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
  it("reads jobs behind the TaskMonitor at Oem/Dell/Jobs and writes the override to the system's settings object", async () => {
    const b = await bench({ flavour: "dell10" });
    const seq = await deployAndUndeploy(b);
    expect(seq.configure).toEqual([LC, "PATCH /{fn}/Settings 202"]);
    expect(seq.power).toEqual(["PATCH /Systems/{s}/Settings 200", RESET, "PATCH /Systems/{s}/Settings 200", RESET]);
    expect(seq.undeploy.at(-1)).toBe("PATCH /Systems/{s}/Settings 200");
    expect(JSON.stringify(b.emu.system("s1").patches.filter((p) => p.path.endsWith("/Settings") && p.path.includes("Systems")))).not.toContain("BootSourceOverrideMode");
  });

  it("a rollback before the reboot deletes our job where iDRAC10 serves it", async () => {
    const b = await bench({ flavour: "dell10" });
    await b.run({ type: "configure_san_boot", iscsi: b.spec });
    const rollback = await b.run({ type: "clear_san_boot" });
    expect(rollback.writes).toEqual(["DELETE /Managers/iDRAC.Embedded.1/Oem/Dell/Jobs/JID 200"]);
    expect(bmcState(b.emu.system("s1"))).toEqual(bmcState(b.found));
  });
});

describe("HPE iLO", () => {
  it("with BIOS changes allowed: sets the NIC's NicBootN, makes an attempt in a free slot, and puts both back", async () => {
    const b = await bench({ flavour: "hpe" }, { bios_changes: "allow" });
    const seq = await deployAndUndeploy(b);
    expect(seq.configure).toEqual(["PATCH /Systems/{s}/Bios/Settings 200", "PATCH /Systems/{s}/Bios/iScsi/Settings 200"]);
    expect(b.emu.system("s1").patches.find((p) => p.path.endsWith("/Bios/iScsi/Settings"))!.body).toMatchObject({
      iSCSISources: [{ iSCSIAttemptInstance: 1, iSCSIAuthenticationMethod: "CHAP", iSCSILUN: "1", iSCSIAttemptName: "sanboot-1" }],
    });
    expect(seq.undeploy).toEqual([RESET, "PATCH /Systems/{s}/Bios/Settings 200", "PATCH /Systems/{s}/Bios/iScsi/Settings 200", RESET, RESET, "PATCH /Systems/{s} 200"]);
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

  it("a rollback before the reboot re-stages what was there: no reset", async () => {
    const b = await bench({ flavour: "hpe" }, { bios_changes: "allow" });
    await b.run({ type: "configure_san_boot", iscsi: b.spec });
    const rollback = await b.run({ type: "clear_san_boot" });
    expect(rollback.out).toMatchObject({ ok: true });
    expect(rollback.writes.filter((w) => w.includes("Reset"))).toEqual([]);
    expect(bmcState(b.emu.system("s1"))).toEqual(bmcState(b.found));
  });
});

describe("Lenovo XCC", () => {
  const statik = { network: { mode: "static" as const, address: "192.0.2.31", netmask: "255.255.255.0", gateway: "192.0.2.1" } };

  it("writes the documented subset at the function's /Pending and boots the allowed UefiTarget path", async () => {
    const b = await bench({ flavour: "lenovo" }, statik);
    const seq = await deployAndUndeploy(b);
    expect(seq.configure).toEqual(["PATCH /{fn}/Pending 200"]);
    const sent = b.emu.system("s1").patches.find((p) => p.path.endsWith("/Pending"))!.body as { iSCSIBoot: Record<string, unknown> };
    expect(Object.keys(sent)).toEqual(["iSCSIBoot"]);
    expect(sent.iSCSIBoot).not.toHaveProperty("IPMaskDNSViaDHCP");
    // credentials first while CHAP is on, then the rest
    expect(seq.undeploy).toEqual([RESET, "PATCH /{fn}/Pending 200", "PATCH /{fn}/Pending 200", RESET, RESET, "PATCH /Systems/{s} 200"]);
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
