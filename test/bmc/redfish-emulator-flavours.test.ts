/**
 * What the lab BMC's flavours promise at the HTTP level, for every suite that relies on them:
 * generic-settings tasks; iDRAC9 and iDRAC10 jobs, Lifecycle Controller, BIOS iSCSI and vendor
 * validation; iLO's BIOS iSCSI attempts, BIOS attributes and mappings; XCC's pending objects;
 * Supermicro's Ethernet-only NICs; and the control API's options. Each vendor gets its own
 * emulator, as each BMC has its own address (Dell's manager URI is the same on every iDRAC).
 */
import { Agent, request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startRedfishEmulator, type RedfishEmulator, type SystemSnapshot, type SystemSpec } from "../../lab/redfish-emulator";

const AUTH = `Basic ${Buffer.from("admin:password").toString("base64")}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const ids = (res: { json: { error: { "@Message.ExtendedInfo": Array<{ MessageId: string }> } } }) => res.json.error["@Message.ExtendedInfo"].map((i) => i.MessageId);
const apply = (t: string) => ({ "@Redfish.SettingsApplyTime": { ApplyTime: t } });

/** One emulator for a describe block, and the client calls its tests need. */
function lab(defaults: SystemSpec, timing: { postDelayMs?: number } = {}) {
  let emu: RedfishEmulator;
  let agent: Agent;
  let n = 0;
  beforeAll(async () => {
    emu = await startRedfishEmulator({ port: 0, powerDelayMs: 15, postDelayMs: timing.postDelayMs ?? 25, taskDelayMs: 60 });
    agent = new Agent({ connect: { ca: emu.caPem } });
  });
  afterAll(async () => {
    await agent.close();
    await emu.close();
  });
  const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const res = await request(`${emu.url}${path}`, {
      method: method as "GET",
      dispatcher: agent,
      headers: { authorization: AUTH, ...(body === undefined ? {} : { "content-type": "application/json" }), ...headers },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.body.text();
    return { status: res.statusCode, etag: res.headers.etag as string | undefined, location: res.headers.location as string | undefined, text, json: text ? JSON.parse(text) : undefined };
  };
  const snap = (id: string) => emu.system(id);
  const waitFor = async (id: string, ok: (s: SystemSnapshot) => boolean, ms = 3000) => {
    const end = Date.now() + ms;
    for (;;) {
      const s = snap(id);
      if (ok(s)) return s;
      if (Date.now() > end) throw new Error(`timed out waiting on ${id}: ${s.PowerState} ${s.BootProgress.LastState}`);
      await sleep(3);
    }
  };
  return {
    get emu() {
      return emu;
    },
    call,
    snap,
    waitFor,
    /** a fresh system (no operator configuration unless asked) */
    add(spec: SystemSpec = {}): string {
      const id = `${defaults.flavour ?? "generic"}-${++n}`;
      emu.addSystem({ id, operatorConfig: false, ...defaults, ...spec });
      return id;
    },
    /** power on (or restart) and wait until the OS runs: POST applied what was staged */
    async boot(id: string): Promise<SystemSnapshot> {
      const before = snap(id).boots.length;
      const on = snap(id).PowerState === "On";
      expect((await call("POST", `/redfish/v1/Systems/${id}/Actions/ComputerSystem.Reset`, { ResetType: on ? "ForceRestart" : "On" })).status).toBe(204);
      return waitFor(id, (s) => s.boots.length > before && s.BootProgress.LastState === "OSRunning");
    },
    /** the n-th own iSCSI-capable function (or NIC port when the NICs have no iSCSI) */
    fn(id: string, n = 0) {
      const own = snap(id).functions.filter((f) => !f.foreign && f.adapterId.startsWith("NIC.Slot"));
      return own[n]!;
    },
    fc(id: string, n = 0) {
      return snap(id).functions.filter((f) => f.capabilities.includes("FibreChannel") && !f.capabilities.includes("Ethernet"))[n]!;
    },
  };
}

describe("generic-settings", () => {
  const l = lab({ flavour: "generic-settings" });

  it("a settings PATCH answers 202 and a task monitor that answers 202 until the task completes", async () => {
    const fn = l.fn(l.add());
    const body = (await l.call("GET", fn.uri)).json;
    expect(body["@Redfish.Settings"]).toMatchObject({ SettingsObject: { "@odata.id": `${fn.uri}/Settings` }, SupportedApplyTimes: ["Immediate", "OnReset"] });
    const s0 = await l.call("GET", `${fn.uri}/Settings`);
    const w = await l.call("PATCH", `${fn.uri}/Settings`, { BootMode: "iSCSI", ...apply("OnReset") }, { "if-match": s0.etag! });
    expect(w.status).toBe(202);
    expect(w.location).toMatch(/^\/redfish\/v1\/TaskService\/TaskMonitors\//);
    expect(w.etag).not.toBe(s0.etag);
    expect((await l.call("GET", w.location!)).status).toBe(202);
    await sleep(90);
    expect(await l.call("GET", w.location!)).toMatchObject({ status: 200, json: { TaskState: "Completed" } });
    expect((await l.call("GET", `${fn.uri}/Settings`)).json.BootMode).toBe("iSCSI");
    expect((await l.call("GET", fn.uri)).json.BootMode).toBe("Disabled");
  });

  it("refuses an apply time it does not offer", async () => {
    const w = await l.call("PATCH", `${l.fn(l.add()).uri}/Settings`, { BootMode: "iSCSI", ...apply("AtMaintenanceWindowStart") });
    expect(w.status).toBe(400);
    expect(ids(w)).toEqual(["Base.1.8.PropertyValueNotInList"]);
  });

  it("FC functions: WWPN identity, no Ethernet, BootTargets validated", async () => {
    const fc = l.fc(l.add({ fcPorts: 1 }));
    const body = (await l.call("GET", fc.uri)).json;
    expect(body).toMatchObject({ NetDevFuncType: "FibreChannel", FibreChannel: { PermanentWWPN: fc.fc!.permanentWwpn, BootTargets: [] } });
    expect(body).not.toHaveProperty("Ethernet");
    const bad = await l.call("PATCH", `${fc.uri}/Settings`, { FibreChannel: { BootTargets: [{ WWPN: "nope", LUNID: 1, BootPriority: 0 }], PermanentWWPN: "x" } });
    expect(bad.status).toBe(400);
    expect(ids(bad).map((i) => i.split(".").pop())).toEqual(["PropertyValueFormatError", "PropertyNotWritable"]);
  });
});

describe("dell (iDRAC9)", () => {
  // POST long enough to be caught in it over HTTP, even on a loaded machine
  const l = lab({ flavour: "dell" }, { postDelayMs: 250 });
  const lcStatus = () => l.call("POST", "/redfish/v1/Managers/iDRAC.Embedded.1/Oem/Dell/DellLCService/Actions/DellLCService.GetRemoteServicesAPIStatus", {});

  it("serves a 14G Monolithic manager, firmware 6.10.30.00, linking the DellLCService", async () => {
    l.add();
    const m = (await l.call("GET", "/redfish/v1/Managers/iDRAC.Embedded.1")).json;
    expect(m).toMatchObject({ Model: "14G Monolithic", FirmwareVersion: "6.10.30.00", Links: { Oem: { Dell: { DellLCService: { "@odata.id": "/redfish/v1/Managers/iDRAC.Embedded.1/Oem/Dell/DellLCService" } } } } });
    const lc = (await l.call("GET", m.Links.Oem.Dell.DellLCService["@odata.id"])).json;
    expect(lc.Actions["#DellLCService.GetRemoteServicesAPIStatus"].target).toBe("/redfish/v1/Managers/iDRAC.Embedded.1/Oem/Dell/DellLCService/Actions/DellLCService.GetRemoteServicesAPIStatus");
  });

  it("refuses a PATCH of the function itself (405): writes go to its settings object", async () => {
    expect((await l.call("PATCH", l.fn(l.add()).uri, { BootMode: "iSCSI" })).status).toBe(405);
  });

  it("answers a NIC settings PATCH with an apply time with 202 and a DellJob Location under Managers/iDRAC.Embedded.1/Jobs", async () => {
    const fn = l.fn(l.add());
    const w = await l.call("PATCH", `${fn.uri}/Settings`, { BootMode: "iSCSI", ...apply("OnReset") });
    expect(w.status).toBe(202);
    expect(w.location).toMatch(/^\/redfish\/v1\/Managers\/iDRAC\.Embedded\.1\/Jobs\/JID_[0-9A-F]+$/);
    expect((await l.call("GET", w.location!)).json).toMatchObject({
      "@odata.type": "#DellJob.v1_5_0.DellJob", JobState: "Scheduled", JobType: "NICConfiguration", MessageId: "JCP001", PercentComplete: 0, TargetSettingsURI: `${fn.uri}/Settings`,
    });
  });

  it("completes the job (PR19) at POST and applies the settings", async () => {
    const id = l.add();
    const fn = l.fn(id);
    const w = await l.call("PATCH", `${fn.uri}/Settings`, { BootMode: "iSCSI", ...apply("OnReset") });
    await l.boot(id);
    expect((await l.call("GET", w.location!)).json).toMatchObject({ JobState: "Completed", MessageId: "PR19", PercentComplete: 100 });
    const body = (await l.call("GET", fn.uri)).json;
    expect(body.BootMode).toBe("iSCSI");
    expect(body["@Redfish.Settings"].Messages[0].MessageId).toMatch(/Success$/);
  });

  it("fails the job (SYS051) at POST under settingsFailOnReset", async () => {
    const id = l.add();
    const w = await l.call("PATCH", `${l.fn(id).uri}/Settings`, { BootMode: "iSCSI", ...apply("OnReset") });
    l.emu.setFaults(id, { settingsFailOnReset: true });
    await l.boot(id);
    expect((await l.call("GET", w.location!)).json).toMatchObject({ JobState: "Failed", MessageId: "SYS051" });
  });

  it("offers NIC apply times OnReset, AtMaintenanceWindowStart, InMaintenanceWindowOnReset", async () => {
    expect((await l.call("GET", l.fn(l.add()).uri)).json["@Redfish.Settings"].SupportedApplyTimes).toEqual(["OnReset", "AtMaintenanceWindowStart", "InMaintenanceWindowOnReset"]);
  });

  it("offers iDRAC's boot targets, no UefiTarget AllowableValues, and reads UefiTargetBootSourceOverride as \"\"", async () => {
    const boot = (await l.call("GET", `/redfish/v1/Systems/${l.add()}`)).json.Boot;
    expect(boot["BootSourceOverrideTarget@Redfish.AllowableValues"]).toEqual(["None", "Pxe", "Floppy", "Cd", "Hdd", "BiosSetup", "Utilities", "UefiTarget", "SDCard", "UefiHttp"]);
    expect(boot).not.toHaveProperty("UefiTargetBootSourceOverride@Redfish.AllowableValues");
    expect(boot.UefiTargetBootSourceOverride).toBe("");
  });

  it("reads unset iSCSIBoot values as iDRAC does: zero addresses, the Broadcom initiator name, empty names, LUN 0, port 3260", async () => {
    const iscsi = (await l.call("GET", l.fn(l.add()).uri)).json.iSCSIBoot;
    expect(iscsi).toMatchObject({
      InitiatorIPAddress: "0.0.0.0", InitiatorNetmask: "0.0.0.0", InitiatorDefaultGateway: "0.0.0.0", PrimaryTargetIPAddress: "0.0.0.0",
      InitiatorName: "iqn.1995-05.com.broadcom.iscsiboot", PrimaryTargetName: "", SecondaryTargetName: "", CHAPUsername: "", MutualCHAPUsername: "",
      PrimaryLUN: 0, PrimaryTargetTCPPort: 3260, SecondaryTargetTCPPort: 3260, AuthenticationMethod: "None",
    });
  });

  it("refuses null for a string iSCSIBoot property (PropertyValueTypeError naming it)", async () => {
    const res = await l.call("PATCH", `${l.fn(l.add()).uri}/Settings`, { iSCSIBoot: { PrimaryTargetName: null } });
    expect(res.status).toBe(400);
    expect(res.json.error["@Message.ExtendedInfo"][0]).toMatchObject({ MessageId: "Base.1.8.PropertyValueTypeError", RelatedProperties: ["#/iSCSIBoot/PrimaryTargetName"] });
  });

  it("refuses CHAPUsername / CHAPSecret unless the resulting AuthenticationMethod is CHAP or MutualCHAP", async () => {
    const fn = l.fn(l.add());
    const res = await l.call("PATCH", `${fn.uri}/Settings`, { iSCSIBoot: { CHAPUsername: "u", CHAPSecret: "s" } });
    expect(res.status).toBe(400);
    expect(res.json.error["@Message.ExtendedInfo"].map((i: { MessageId: string; MessageArgs: string[] }) => [i.MessageId, i.MessageArgs[0]])).toEqual([
      ["Base.1.8.PropertyNotWritable", "iSCSIBoot.CHAPUsername"], ["Base.1.8.PropertyNotWritable", "iSCSIBoot.CHAPSecret"],
    ]);
    expect((await l.call("PATCH", `${fn.uri}/Settings`, { iSCSIBoot: { AuthenticationMethod: "CHAP", CHAPUsername: "u", CHAPSecret: "s" } })).status).toBe(200);
  });

  it("refuses MutualCHAPUsername / MutualCHAPSecret unless the resulting AuthenticationMethod is MutualCHAP", async () => {
    const fn = l.fn(l.add());
    const res = await l.call("PATCH", `${fn.uri}/Settings`, { iSCSIBoot: { AuthenticationMethod: "CHAP", CHAPUsername: "u", MutualCHAPSecret: "m" } });
    expect(res.status).toBe(400);
    expect(res.json.error["@Message.ExtendedInfo"]).toEqual([expect.objectContaining({ MessageId: "Base.1.8.PropertyNotWritable", MessageArgs: ["iSCSIBoot.MutualCHAPSecret"] })]);
  });

  it("refuses a NIC setting PATCHed to the value it already has (pending or current), secrets excepted", async () => {
    const fn = l.fn(l.add());
    const same = await l.call("PATCH", `${fn.uri}/Settings`, { BootMode: "Disabled", iSCSIBoot: { PrimaryLUN: 0 } });
    expect(same.status).toBe(400);
    expect(same.json.error["@Message.ExtendedInfo"].map((i: { MessageId: string; MessageArgs: string[] }) => [i.MessageId, i.MessageArgs[0]])).toEqual([
      ["Base.1.8.PropertyValueConflict", "BootMode"], ["Base.1.8.PropertyValueConflict", "iSCSIBoot.PrimaryLUN"],
    ]);
    expect((await l.call("PATCH", `${fn.uri}/Settings`, { iSCSIBoot: { AuthenticationMethod: "CHAP", CHAPSecret: "s" } })).status).toBe(200);
    expect((await l.call("PATCH", `${fn.uri}/Settings`, { iSCSIBoot: { CHAPSecret: "s" } })).status).toBe(200);
    expect((await l.call("PATCH", `${fn.uri}/Settings`, { iSCSIBoot: { AuthenticationMethod: "CHAP" } })).status).toBe(400);
  });

  it("refuses another PATCH of a settings object while its job is scheduled (IDRAC.2.9.SYS011)", async () => {
    const fn = l.fn(l.add());
    await l.call("PATCH", `${fn.uri}/Settings`, { BootMode: "iSCSI", ...apply("OnReset") });
    const res = await l.call("PATCH", `${fn.uri}/Settings`, { iSCSIBoot: { PrimaryLUN: 4 } });
    expect(res.status).toBe(400);
    expect(res.json.error["@Message.ExtendedInfo"]).toEqual([
      expect.objectContaining({ MessageId: "IDRAC.2.9.SYS011", Message: "Pending configuration values are already committed, unable to perform another set operation." }),
    ]);
  });

  it("DELETE of a scheduled job removes it and discards the staged values of its settings object", async () => {
    const id = l.add();
    const fn = l.fn(id);
    const w = await l.call("PATCH", `${fn.uri}/Settings`, { BootMode: "iSCSI", ...apply("OnReset") });
    expect((await l.call("DELETE", w.location!)).status).toBe(200);
    expect((await l.call("GET", w.location!)).status).toBe(404);
    expect(l.snap(id).functions.find((f) => f.id === fn.id)!.pending).toBeNull();
    expect((await l.call("PATCH", `${fn.uri}/Settings`, { iSCSIBoot: { PrimaryLUN: 4 } })).status).toBe(200);
  });

  it("DELETE of a finished job just removes it; an unknown job is 404", async () => {
    const id = l.add();
    const fn = l.fn(id);
    const w = await l.call("PATCH", `${fn.uri}/Settings`, { BootMode: "iSCSI", ...apply("OnReset") });
    await l.boot(id);
    expect((await l.call("DELETE", w.location!)).status).toBe(200);
    expect(l.snap(id).jobs).toEqual([]);
    expect(l.snap(id).functions.find((f) => f.id === fn.id)!.bootMode).toBe("iSCSI");
    expect((await l.call("DELETE", "/redfish/v1/Managers/iDRAC.Embedded.1/Jobs/JID_000000000000")).status).toBe(404);
  });

  it("POST of the Jobs collection creates a job for values staged without an apply time", async () => {
    const id = l.add();
    const fn = l.fn(id);
    expect((await l.call("PATCH", `${fn.uri}/Settings`, { BootMode: "iSCSI" })).status).toBe(200);
    expect(l.snap(id).jobs).toEqual([]);
    const created = await l.call("POST", "/redfish/v1/Managers/iDRAC.Embedded.1/Jobs", { TargetSettingsURI: `${fn.uri}/Settings` });
    expect(created.status).toBe(200);
    expect(created.location).toMatch(/\/Managers\/iDRAC\.Embedded\.1\/Jobs\/JID_/);
    expect(l.snap(id).jobs).toEqual([expect.objectContaining({ kind: "dell-job", state: "Scheduled", jobType: "NICConfiguration", uri: created.location })]);
  });

  it("Lifecycle Controller: GetRemoteServicesAPIStatus answers NotReady while the host is in POST, Ready after", async () => {
    const id = l.add();
    expect((await lcStatus()).json).toMatchObject({ LCStatus: "Ready", RTStatus: "Ready", Status: "Ready" });
    await l.call("POST", `/redfish/v1/Systems/${id}/Actions/ComputerSystem.Reset`, { ResetType: "On" });
    await l.waitFor(id, (s) => s.PowerState === "On");
    expect((await lcStatus()).json).toMatchObject({ LCStatus: "NotReady", RTStatus: "NotReady", ServerStatus: "InPOST", Status: "NotReady" });
    await l.waitFor(id, (s) => s.BootProgress.LastState === "OSRunning");
    expect((await lcStatus()).json).toMatchObject({ Status: "Ready", ServerStatus: "OutOfPOST" });
  });

  it("Lifecycle Controller: settings PATCHes answer 503 IDRAC.2.8.SYS518 while it is not ready", async () => {
    const id = l.add();
    await l.call("POST", `/redfish/v1/Systems/${id}/Actions/ComputerSystem.Reset`, { ResetType: "On" });
    await l.waitFor(id, (s) => s.PowerState === "On");
    const res = await l.call("PATCH", `${l.fn(id).uri}/Settings`, { BootMode: "iSCSI" });
    expect(res.status).toBe(503);
    expect(res.json.error["@Message.ExtendedInfo"][0]).toMatchObject({ MessageId: "IDRAC.2.8.SYS518", Message: expect.stringMatching(/^iDRAC is not ready/) });
    await l.waitFor(id, (s) => s.BootProgress.LastState === "OSRunning");
  });

  it("Lifecycle Controller: the lcNotReady fault makes the next N status calls NotReady, then Ready", async () => {
    const id = l.add();
    l.emu.setFaults(id, { lcNotReady: 2 });
    expect((await l.call("PATCH", `${l.fn(id).uri}/Settings`, { BootMode: "iSCSI" })).status).toBe(503);
    expect((await lcStatus()).json.Status).toBe("NotReady");
    expect((await lcStatus()).json.Status).toBe("NotReady");
    expect((await lcStatus()).json.Status).toBe("Ready");
    expect((await l.call("PATCH", `${l.fn(id).uri}/Settings`, { BootMode: "iSCSI" })).status).toBe(200);
  });

  it("FC HBA: BootTargets are always two fixed slots, unused ones zeroed", async () => {
    expect((await l.call("GET", l.fc(l.add({ fcPorts: 1 })).uri)).json.FibreChannel.BootTargets).toEqual([
      { WWPN: "00:00:00:00:00:00:00:00", LUNID: "0", BootPriority: 0 },
      { WWPN: "00:00:00:00:00:00:00:00", LUNID: "0", BootPriority: 1 },
    ]);
  });

  it("FC HBA: a PATCH must send exactly two BootTargets entries", async () => {
    const fc = l.fc(l.add({ fcPorts: 1 }));
    const one = await l.call("PATCH", `${fc.uri}/Settings`, { FibreChannel: { BootTargets: [{ WWPN: "50:0A:09:82:88:E2:B9:B1", LUNID: "3", BootPriority: 0 }] } });
    expect(one.status).toBe(400);
    const two = await l.call("PATCH", `${fc.uri}/Settings`, {
      FibreChannel: { BootTargets: [{ WWPN: "50:0A:09:82:88:E2:B9:B1", LUNID: "3", BootPriority: 0 }, { WWPN: "00:00:00:00:00:00:00:00", LUNID: "0", BootPriority: 1 }] },
    });
    expect(two.status).toBe(200);
  });

  it("FC HBA: a zero WWPN slot is no boot option", async () => {
    const id = l.add({ fcPorts: 1 });
    const fc = l.fc(id);
    await l.call("PATCH", `${fc.uri}/Settings`, {
      BootMode: "FibreChannel",
      FibreChannel: { BootTargets: [{ WWPN: "50:0A:09:82:88:E2:B9:B1", LUNID: "3", BootPriority: 0 }, { WWPN: "00:00:00:00:00:00:00:00", LUNID: "0", BootPriority: 1 }] },
      ...apply("OnReset"),
    });
    const s = await l.boot(id);
    expect(s.bootOptions.filter((o) => o.device.kind === "fc").map((o) => o.device)).toEqual([expect.objectContaining({ wwpn: "50:0A:09:82:88:E2:B9:B1", lun: "3" })]);
  });
});

describe("dell BIOS iSCSI (dellBiosIscsi)", () => {
  const l = lab({ flavour: "dell", dellBiosIscsi: true });
  const bios = (id: string) => `/redfish/v1/Systems/${id}/Bios`;
  const con1 = (id: string, attrs: Record<string, unknown> = {}) => ({
    IscsiInitiatorName: "iqn.2001-04.com.example:host", IscsiDev1EnDis: "Enabled", IscsiDev1Con1EnDis: "Enabled", IscsiDev1Con1Interface: l.fn(id, 0).id,
    IscsiDev1Con1Ip: "10.0.0.5", IscsiDev1Con1Mask: "255.255.255.0", IscsiDev1Con1TargetIp: "10.0.0.9", IscsiDev1Con1TargetName: "iqn.2001-04.com.example:vol",
    IscsiDev1Con1Lun: "2", IscsiDev1Con1Auth: "Chap", IscsiDev1Con1ChapName: "user", IscsiDev1Con1ChapSecret: "bios-secret", ...attrs,
  });

  it("NIC functions offer no iSCSIBoot, and BootMode Disabled or PXE only", async () => {
    const body = (await l.call("GET", l.fn(l.add(), 0).uri)).json;
    expect(body).not.toHaveProperty("iSCSIBoot");
    expect(body["BootMode@Redfish.AllowableValues"]).toEqual(["Disabled", "PXE"]);
  });

  it("the system links a Bios with the IscsiDev1 attributes, secrets read null", async () => {
    const id = l.add();
    const sys = (await l.call("GET", `/redfish/v1/Systems/${id}`)).json;
    const attrs = (await l.call("GET", sys.Bios["@odata.id"])).json.Attributes;
    expect(attrs).toMatchObject({
      BootMode: "Uefi", IscsiInitiatorName: "", IscsiDev1EnDis: "Disabled", IscsiDev1ConOrder: "Con1Con2",
      IscsiDev1Con1EnDis: "Disabled", IscsiDev1Con1Interface: l.fn(id, 0).id, IscsiDev1Con2Interface: l.fn(id, 1).id, IscsiDev1Con1Protocol: "IPv4",
      IscsiDev1Con1VlanEnDis: "Disabled", IscsiDev1Con1VlanId: 1, IscsiDev1Con1DhcpEnDis: "Disabled", IscsiDev1Con1TgtDhcpEnDis: "Disabled",
      IscsiDev1Con1TargetIp: "", IscsiDev1Con1TargetName: "", IscsiDev1Con1Port: 3260, IscsiDev1Con1Lun: "0", IscsiDev1Con1Auth: "None",
      IscsiDev1Con1ChapType: "OneWay", IscsiDev1Con1ChapName: "", IscsiDev1Con1ChapSecret: null, IscsiDev1Con1RevChapName: "", IscsiDev1Con2RevChapSecret: null,
    });
  });

  it("Bios publishes @Redfish.Settings at Bios/Settings with iDRAC9's apply times", async () => {
    const id = l.add();
    expect((await l.call("GET", bios(id))).json["@Redfish.Settings"]).toMatchObject({
      SettingsObject: { "@odata.id": `${bios(id)}/Settings` }, SupportedApplyTimes: ["OnReset", "AtMaintenanceWindowStart", "InMaintenanceWindowOnReset"],
    });
  });

  it("Bios/Settings refuses unknown attributes, values not in the list, foreign Interfaces and wrong types", async () => {
    const res = await l.call("PATCH", `${bios(l.add())}/Settings`, {
      Attributes: { IscsiDev1Con3EnDis: "Enabled", IscsiDev1Con1Auth: "CHAP", IscsiDev1Con1ChapType: "TwoWay", IscsiDev1Con1Protocol: "IPX", IscsiDev1Con1Interface: "NIC.Slot.9-1-1", IscsiDev1Con1Port: "3260", IscsiDev1Con1Lun: 0 },
    });
    expect(res.status).toBe(400);
    expect(ids(res).map((i) => i.split(".").pop())).toEqual([
      "PropertyUnknown", "PropertyValueNotInList", "PropertyValueNotInList", "PropertyValueNotInList", "PropertyValueNotInList", "PropertyValueTypeError", "PropertyValueTypeError",
    ]);
  });

  it("a Bios/Settings PATCH with an apply time answers 202 and a BIOSConfiguration job", async () => {
    const id = l.add();
    const w = await l.call("PATCH", `${bios(id)}/Settings`, { Attributes: con1(id), ...apply("OnReset") });
    expect(w.status).toBe(202);
    expect((await l.call("GET", w.location!)).json).toMatchObject({ JobType: "BIOSConfiguration", JobState: "Scheduled", TargetSettingsURI: `${bios(id)}/Settings` });
    expect((await l.call("GET", `${bios(id)}/Settings`)).json.Attributes).toMatchObject({ IscsiDev1Con1TargetName: "iqn.2001-04.com.example:vol", IscsiDev1Con1ChapSecret: null });
    expect(l.snap(id).bios!.pending).toMatchObject({ IscsiDev1Con1ChapSecret: "bios-secret" });
  });

  it("an enabled connection becomes an iSCSI BootOption on its Interface's MAC after POST", async () => {
    const id = l.add();
    await l.call("PATCH", `${bios(id)}/Settings`, { Attributes: con1(id), ...apply("OnReset") });
    expect(l.snap(id).bootOptions.some((o) => o.device.kind === "iscsi")).toBe(false);
    const s = await l.boot(id);
    const option = s.bootOptions.find((o) => o.device.kind === "iscsi")!;
    expect(option.path).toContain(`MAC(${l.fn(id, 0).mac.replace(/:/g, "")},0x1)`);
    expect(s.bios!.attributes.IscsiDev1Con1EnDis).toBe("Enabled");
  });

  it("a UefiTarget boot naming the connection boots it, with its CHAP", async () => {
    const id = l.add();
    await l.call("PATCH", `${bios(id)}/Settings`, { Attributes: con1(id), ...apply("OnReset") });
    const path = (await l.boot(id)).bootOptions.find((o) => o.device.kind === "iscsi")!.path;
    expect((await l.call("PATCH", `/redfish/v1/Systems/${id}`, { Boot: { BootSourceOverrideTarget: "UefiTarget", BootSourceOverrideEnabled: "Once", UefiTargetBootSourceOverride: path } })).status).toBe(200);
    expect((await l.boot(id)).boots.at(-1)!.booted).toMatchObject({
      kind: "iscsi", target: "iqn.2001-04.com.example:vol", lun: 2, initiator: "iqn.2001-04.com.example:host", connection: 1,
      chap: { username: "user", secret: "bios-secret", mutualUsername: null, mutualSecret: null },
    });
  });
});

describe("dell10 (iDRAC10)", () => {
  const l = lab({ flavour: "dell10" });

  it("serves a 17G Monolithic manager, firmware 1.20.25.00", async () => {
    l.add();
    expect((await l.call("GET", "/redfish/v1/Managers/iDRAC.Embedded.1")).json).toMatchObject({ Model: "17G Monolithic", FirmwareVersion: "1.20.25.00" });
  });

  it("refuses Boot in a PATCH of Systems/{id} (PropertyNotWritable Boot)", async () => {
    const res = await l.call("PATCH", `/redfish/v1/Systems/${l.add()}`, { Boot: { BootSourceOverrideTarget: "Pxe" } });
    expect(res.status).toBe(400);
    expect(res.json.error["@Message.ExtendedInfo"][0]).toMatchObject({ MessageId: "Base.1.8.PropertyNotWritable", MessageArgs: ["Boot"] });
  });

  it("publishes @Redfish.Settings on the system, at Systems/{id}/Settings, OnReset", async () => {
    const id = l.add();
    expect((await l.call("GET", `/redfish/v1/Systems/${id}`)).json["@Redfish.Settings"]).toMatchObject({
      SettingsObject: { "@odata.id": `/redfish/v1/Systems/${id}/Settings` }, SupportedApplyTimes: ["OnReset"],
    });
  });

  it("takes Boot through Systems/{id}/Settings (200), in effect at once and used at the next boot", async () => {
    const id = l.add();
    expect((await l.call("PATCH", `/redfish/v1/Systems/${id}/Settings`, { Boot: { BootSourceOverrideTarget: "BiosSetup", BootSourceOverrideEnabled: "Once" } })).status).toBe(200);
    expect((await l.call("GET", `/redfish/v1/Systems/${id}/Settings`)).json.Boot).toMatchObject({ BootSourceOverrideTarget: "BiosSetup", BootSourceOverrideEnabled: "Once" });
    expect((await l.call("GET", `/redfish/v1/Systems/${id}`)).json.Boot.BootSourceOverrideTarget).toBe("BiosSetup");
    expect((await l.boot(id)).boots.at(-1)!.booted).toEqual({ kind: "setup" });
  });

  it("has no BootSourceOverrideMode and refuses it (PropertyUnknown)", async () => {
    const id = l.add();
    expect((await l.call("GET", `/redfish/v1/Systems/${id}`)).json.Boot).not.toHaveProperty("BootSourceOverrideMode");
    const res = await l.call("PATCH", `/redfish/v1/Systems/${id}/Settings`, { Boot: { BootSourceOverrideMode: "UEFI" } });
    expect(res.status).toBe(400);
    expect(ids(res)).toEqual(["Base.1.8.PropertyUnknown"]);
  });

  it("offers only OnReset for NIC settings", async () => {
    expect((await l.call("GET", l.fn(l.add()).uri)).json["@Redfish.Settings"].SupportedApplyTimes).toEqual(["OnReset"]);
  });

  it("answers a settings PATCH with a TaskMonitors Location that has no content: 202 until the job finishes, 204 after", async () => {
    const id = l.add();
    const w = await l.call("PATCH", `${l.fn(id).uri}/Settings`, { BootMode: "iSCSI", ...apply("OnReset") });
    expect(w.status).toBe(202);
    expect(w.location).toMatch(/^\/redfish\/v1\/TaskService\/TaskMonitors\/JID_[0-9A-F]+$/);
    expect(await l.call("GET", w.location!)).toMatchObject({ status: 202, text: "" });
    await l.boot(id);
    expect(await l.call("GET", w.location!)).toMatchObject({ status: 204, text: "" });
  });

  it("serves the job at Managers/iDRAC.Embedded.1/Oem/Dell/Jobs and as a Task with Oem.Dell", async () => {
    const id = l.add();
    const w = await l.call("PATCH", `${l.fn(id).uri}/Settings`, { BootMode: "iSCSI", ...apply("OnReset") });
    const jid = w.location!.split("/").pop();
    expect((await l.call("GET", `/redfish/v1/Managers/iDRAC.Embedded.1/Oem/Dell/Jobs/${jid}`)).json).toMatchObject({ Id: jid, JobState: "Scheduled", MessageId: "JCP001" });
    expect((await l.call("GET", `/redfish/v1/TaskService/Tasks/${jid}`)).json).toMatchObject({ "@odata.type": "#Task.v1_7_0.Task", TaskState: "Pending", Oem: { Dell: { JobState: "Scheduled" } } });
    expect((await l.call("GET", "/redfish/v1/Managers/iDRAC.Embedded.1/Oem/Dell/Jobs")).json.Members).toContainEqual({ "@odata.id": `/redfish/v1/Managers/iDRAC.Embedded.1/Oem/Dell/Jobs/${jid}` });
  });

  it("does not serve Managers/iDRAC.Embedded.1/Jobs (404)", async () => {
    const id = l.add();
    const w = await l.call("PATCH", `${l.fn(id).uri}/Settings`, { BootMode: "iSCSI", ...apply("OnReset") });
    expect((await l.call("GET", "/redfish/v1/Managers/iDRAC.Embedded.1/Jobs")).status).toBe(404);
    expect((await l.call("GET", `/redfish/v1/Managers/iDRAC.Embedded.1/Jobs/${w.location!.split("/").pop()}`)).status).toBe(404);
  });

  it("refuses a PATCH of a settings object with a scheduled job with IDRAC.2.14.SYS011", async () => {
    const fn = l.fn(l.add());
    await l.call("PATCH", `${fn.uri}/Settings`, { BootMode: "iSCSI", ...apply("OnReset") });
    expect(ids(await l.call("PATCH", `${fn.uri}/Settings`, { BootMode: "PXE" }))).toEqual(["IDRAC.2.14.SYS011"]);
  });

  it("deletes a job at Oem/Dell/Jobs/{id} and creates one by POST there", async () => {
    const id = l.add();
    const fn = l.fn(id);
    const w = await l.call("PATCH", `${fn.uri}/Settings`, { BootMode: "iSCSI", ...apply("OnReset") });
    const jid = w.location!.split("/").pop();
    expect((await l.call("DELETE", `/redfish/v1/Managers/iDRAC.Embedded.1/Oem/Dell/Jobs/${jid}`)).status).toBe(200);
    expect(l.snap(id).functions.find((f) => f.id === fn.id)!.pending).toBeNull();
    await l.call("PATCH", `${fn.uri}/Settings`, { BootMode: "iSCSI" });
    const created = await l.call("POST", "/redfish/v1/Managers/iDRAC.Embedded.1/Oem/Dell/Jobs", { TargetSettingsURI: `${fn.uri}/Settings` });
    expect(created.status).toBe(200);
    expect(l.snap(id).jobs).toEqual([expect.objectContaining({ state: "Scheduled", uri: expect.stringContaining("/Oem/Dell/Jobs/JID_") })]);
  });
});

describe("hpe (iLO 5)", () => {
  const l = lab({ flavour: "hpe" });
  const iscsi = (id: string) => `/redfish/v1/Systems/${id}/Bios/iScsi`;
  const attempt = (extra: Record<string, unknown> = {}) => ({
    iSCSIAttemptInstance: 1, iSCSIAttemptName: "sanboot", iSCSINicSource: "NicBoot1", iSCSIConnection: "Enabled", iSCSIInitiatorIpAddress: "10.0.0.5",
    iSCSIInitiatorNetmask: "255.255.255.0", iSCSITargetName: "iqn.2001-04.com.example:vol", iSCSITargetIpAddress: "10.0.0.9", iSCSILUN: "1",
    iSCSIAuthenticationMethod: "CHAP", iSCSIChapUsername: "user", iSCSIChapSecret: "hpe-secret", ...extra,
  });

  it("Bios links the UEFI iSCSI initiator, whose settings take {} for untouched attempts", async () => {
    const id = l.add();
    const uri = (await l.call("GET", `/redfish/v1/Systems/${id}/Bios`)).json.Oem.Hpe.Links.iScsi["@odata.id"];
    expect((await l.call("GET", uri)).json.iSCSISources).toHaveLength(4);
    const w = await l.call("PATCH", `${uri}/Settings`, { iSCSISources: [{}, attempt({ iSCSIAttemptInstance: 2 })] });
    expect(w.status).toBe(200);
    expect(w.json.error["@Message.ExtendedInfo"][0].MessageId).toMatch(/SystemResetRequired$/);
    const staged = (await l.call("GET", `${uri}/Settings`)).json;
    expect(staged.iSCSISources[0]).toEqual({});
    expect(staged.iSCSISources[1]).toMatchObject({ iSCSITargetName: "iqn.2001-04.com.example:vol", iSCSIChapSecret: null });
  });

  it("reads blank attempts with instance 0, empty names, zero addresses, LUN \"0\", None and OneWay", async () => {
    expect((await l.call("GET", iscsi(l.add()))).json.iSCSISources[0]).toMatchObject({
      iSCSIAttemptInstance: 0, iSCSIAttemptName: "", iSCSINicSource: null, iSCSIInitiatorIpAddress: "0.0.0.0", iSCSIInitiatorNetmask: "0.0.0.0",
      iSCSIInitiatorGateway: "0.0.0.0", iSCSITargetIpAddress: "0.0.0.0", iSCSILUN: "0", iSCSITargetName: "", iSCSIConnection: "Disabled",
      iSCSIAuthenticationMethod: "None", iSCSIChapType: "OneWay",
    });
  });

  it("refuses attempts with a target whose instances are not unique in 1..N (PropertyValueConflict)", async () => {
    const id = l.add();
    const zero = await l.call("PATCH", `${iscsi(id)}/Settings`, { iSCSISources: [attempt({ iSCSIAttemptInstance: 0 })] });
    expect(ids(zero)).toEqual(["Base.1.8.PropertyValueConflict"]);
    const twice = await l.call("PATCH", `${iscsi(id)}/Settings`, { iSCSISources: [attempt(), attempt()] });
    expect(twice.json.error["@Message.ExtendedInfo"]).toEqual([expect.objectContaining({ MessageId: "Base.1.8.PropertyValueConflict", MessageArgs: ["iSCSISources[1].iSCSIAttemptInstance"] })]);
  });

  it("deletes an attempt left with instance 0 at apply (it reads blank again)", async () => {
    const id = l.add();
    await l.call("PATCH", `${iscsi(id)}/Settings`, { iSCSISources: [attempt()] });
    await l.boot(id);
    expect(l.snap(id).hpeIscsi!.sources[0]!.iSCSIAttemptName).toBe("sanboot");
    await l.call("PATCH", `${iscsi(id)}/Settings`, { iSCSISources: [{ iSCSIAttemptInstance: 0, iSCSITargetName: "", iSCSITargetIpAddress: "0.0.0.0" }] });
    await l.boot(id);
    expect(l.snap(id).hpeIscsi!.sources[0]).toMatchObject({ iSCSIAttemptInstance: 0, iSCSIAttemptName: "", iSCSINicSource: null, iSCSIChapSecret: null });
  });

  it("takes iSCSIAuthenticationMethod None or CHAP, not Chap", async () => {
    const res = await l.call("PATCH", `${iscsi(l.add())}/Settings`, { iSCSISources: [attempt({ iSCSIAuthenticationMethod: "Chap" })] });
    expect(ids(res)).toEqual(["Base.1.8.PropertyValueNotInList"]);
  });

  it("takes iSCSIConnection Disabled/Enabled/EnabledMpio and iSCSIIpAddressType IPv4/IPv6/Auto", async () => {
    const id = l.add();
    expect((await l.call("PATCH", `${iscsi(id)}/Settings`, { iSCSISources: [attempt({ iSCSIConnection: "EnabledMpio", iSCSIIpAddressType: "Auto" })] })).status).toBe(200);
    expect(ids(await l.call("PATCH", `${iscsi(id)}/Settings`, { iSCSISources: [attempt({ iSCSIConnection: "On", iSCSIIpAddressType: "IPv5" })] }))).toEqual([
      "Base.1.8.PropertyValueNotInList", "Base.1.8.PropertyValueNotInList",
    ]);
  });

  it("refuses null addresses and LUN, takes null target name, CHAP fields, NIC source and attempt name", async () => {
    const id = l.add();
    const nulls = await l.call("PATCH", `${iscsi(id)}/Settings`, {
      iSCSISources: [{ iSCSIInitiatorIpAddress: null, iSCSIInitiatorNetmask: null, iSCSIInitiatorGateway: null, iSCSITargetIpAddress: null, iSCSILUN: null }],
    });
    expect(ids(nulls)).toEqual(Array(5).fill("Base.1.8.PropertyValueTypeError"));
    const ok = await l.call("PATCH", `${iscsi(id)}/Settings`, {
      iSCSISources: [{ iSCSITargetName: null, iSCSIChapUsername: null, iSCSIChapSecret: null, iSCSIReverseChapUsername: null, iSCSIReverseChapSecret: null, iSCSINicSource: null, iSCSIAttemptName: null }],
    });
    expect(ok.status).toBe(200);
  });

  it("takes iSCSILUN only in SAM-2 form", async () => {
    const id = l.add();
    expect((await l.call("PATCH", `${iscsi(id)}/Settings`, { iSCSISources: [attempt({ iSCSILUN: "1234-5" })] })).status).toBe(200);
    expect(ids(await l.call("PATCH", `${iscsi(id)}/Settings`, { iSCSISources: [attempt({ iSCSILUN: "12345" })] }))).toEqual(["Base.1.8.PropertyValueFormatError"]);
    expect(ids(await l.call("PATCH", `${iscsi(id)}/Settings`, { iSCSISources: [attempt({ iSCSILUN: 1 })] }))).toEqual(["Base.1.8.PropertyValueTypeError"]);
  });

  it("maps NicBoot1 to the slot's second port and NicBoot2 to its first (Bios/Mappings)", async () => {
    const id = l.add();
    const link = (await l.call("GET", `/redfish/v1/Systems/${id}/Bios`)).json.Oem.Hpe.Links.Mappings["@odata.id"];
    const m = (await l.call("GET", link)).json;
    expect(m["@odata.type"]).toMatch(/^#HpeBiosMapping\./);
    const subs = m.BiosPciSettingsMappings[0].Subinstances as Array<{ CorrelatableID: string; Associations: unknown[] }>;
    const byNic = (nic: string) => subs.find((x) => x.Associations.includes(nic))!.CorrelatableID;
    const ifaces = (await l.call("GET", `/redfish/v1/Systems/${id}/EthernetInterfaces`)).json.Members;
    const ports = await Promise.all(ifaces.map(async (x: { "@odata.id": string }) => (await l.call("GET", x["@odata.id"])).json));
    const macOf = (path: string) => ports.find((p) => p.UefiDevicePath === path)!.MACAddress;
    expect(macOf(byNic("NicBoot1"))).toBe(l.fn(id, 1).mac);
    expect(macOf(byNic("NicBoot2"))).toBe(l.fn(id, 0).mac);
    expect(subs[0]!.Associations).toContainEqual({ PreBootNetwork: expect.any(String) });
  });

  it("boots an attempt on the port its NIC source maps to, its MAC in the device path", async () => {
    const id = l.add();
    await l.call("PATCH", `${iscsi(id)}/Settings`, { iSCSIInitiatorName: "iqn.2001-04.com.example:hpe-host", iSCSISources: [attempt()] });
    const path = (await l.boot(id)).hpeIscsi!.sources[0]!.UEFIDevicePath as string;
    expect(path).toContain(`MAC(${l.fn(id, 1).mac.replace(/:/g, "")},0x1)`);
    await l.call("PATCH", `/redfish/v1/Systems/${id}`, { Boot: { BootSourceOverrideTarget: "UefiTarget", BootSourceOverrideEnabled: "Once", UefiTargetBootSourceOverride: path } });
    expect((await l.boot(id)).boots.at(-1)!.booted).toMatchObject({
      kind: "iscsi", attempt: 1, mac: l.fn(id, 1).mac, target: "iqn.2001-04.com.example:vol", initiator: "iqn.2001-04.com.example:hpe-host",
      chap: { username: "user", secret: "hpe-secret" },
    });
  });

  it("gives an attempt no device path while its NIC source's NicBoot attribute is Disabled", async () => {
    const id = l.add();
    await l.call("PATCH", `${iscsi(id)}/Settings`, { iSCSISources: [attempt({ iSCSINicSource: "NicBoot2" })] });
    const s = await l.boot(id);
    expect(s.hpeIscsi!.sources[0]!.UEFIDevicePath).toBeNull();
    expect(s.bootOptions.some((o) => o.device.kind === "iscsi")).toBe(false);
  });

  it("serves Bios attributes BootMode, iSCSIPolicy, NicBoot1, NicBoot2 with defaults, overridden by hpeBios", async () => {
    expect((await l.call("GET", `/redfish/v1/Systems/${l.add()}/Bios`)).json.Attributes).toEqual({ BootMode: "Uefi", iSCSIPolicy: "SoftwareInitiator", NicBoot1: "NetworkBoot", NicBoot2: "Disabled" });
    expect((await l.call("GET", `/redfish/v1/Systems/${l.add({ hpeBios: { NicBoot2: "NetworkBoot" } })}/Bios`)).json.Attributes.NicBoot2).toBe("NetworkBoot");
  });

  it("a Bios/Settings PATCH answers 200 SystemResetRequired and applies at POST, gating attempts then", async () => {
    const id = l.add();
    await l.call("PATCH", `${iscsi(id)}/Settings`, { iSCSISources: [attempt({ iSCSINicSource: "NicBoot2" })] });
    const w = await l.call("PATCH", `/redfish/v1/Systems/${id}/Bios/Settings`, { Attributes: { NicBoot2: "NetworkBoot" } });
    expect(w.status).toBe(200);
    expect(w.json.error["@Message.ExtendedInfo"][0].MessageId).toMatch(/SystemResetRequired$/);
    expect((await l.call("GET", `/redfish/v1/Systems/${id}/Bios/Settings`)).json.Attributes).toEqual({ NicBoot2: "NetworkBoot" });
    const s = await l.boot(id);
    expect(s.bios!.attributes.NicBoot2).toBe("NetworkBoot");
    expect(s.hpeIscsi!.sources[0]!.UEFIDevicePath).toContain(`MAC(${l.fn(id, 0).mac.replace(/:/g, "")},0x1)`);
  });

  it("keeps an attempt unbootable while iSCSIPolicy is Disabled or BootMode LegacyBios", async () => {
    const id = l.add({ hpeBios: { iSCSIPolicy: "Disabled" } });
    await l.call("PATCH", `${iscsi(id)}/Settings`, { iSCSISources: [attempt()] });
    expect((await l.boot(id)).hpeIscsi!.sources[0]!.UEFIDevicePath).toBeNull();
    await l.call("PATCH", `/redfish/v1/Systems/${id}/Bios/Settings`, { Attributes: { iSCSIPolicy: "SoftwareInitiator", BootMode: "LegacyBios" } });
    expect((await l.boot(id)).hpeIscsi!.sources[0]!.UEFIDevicePath).toBeNull();
  });

  it("refuses Bios attribute values outside their enums, and unknown attributes", async () => {
    const res = await l.call("PATCH", `/redfish/v1/Systems/${l.add()}/Bios/Settings`, { Attributes: { NicBoot1: "PXE", iSCSIPolicy: "Hardware", Bogus: "x" } });
    expect(ids(res)).toEqual(["Base.1.8.PropertyValueNotInList", "Base.1.8.PropertyValueNotInList", "Base.1.8.PropertyUnknown"]);
  });

  it("FC functions carry Oem.Hpe.BootTargetSource UEFI, and boot their BootTargets only under NetworkDeviceFunction", async () => {
    const id = l.add({ fcPorts: 1 });
    const fc = l.fc(id);
    expect((await l.call("GET", fc.uri)).json.Oem).toEqual({ Hpe: { BootTargetSource: "UEFI" } });
    await l.call("PATCH", fc.uri, { BootMode: "FibreChannel", FibreChannel: { BootTargets: [{ WWPN: "50:0A:09:82:88:E2:B9:B1", LUNID: "3", BootPriority: 0 }] } });
    expect(l.snap(id).bootOptions.some((o) => o.device.kind === "fc")).toBe(false);
    expect((await l.call("PATCH", fc.uri, { Oem: { Hpe: { BootTargetSource: "Firmware" } } })).status).toBe(400);
    expect((await l.call("PATCH", fc.uri, { Oem: { Hpe: { BootTargetSource: "NetworkDeviceFunction" } } })).status).toBe(200);
    expect(l.snap(id).bootOptions.filter((o) => o.device.kind === "fc")).toHaveLength(1);
  });

  it("publishes UefiTargetBootSourceOverride@Redfish.AllowableValues: the disk and the SAN paths in force", async () => {
    const id = l.add();
    await l.call("PATCH", `${iscsi(id)}/Settings`, { iSCSISources: [attempt()] });
    const path = (await l.boot(id)).hpeIscsi!.sources[0]!.UEFIDevicePath;
    const allowed = (await l.call("GET", `/redfish/v1/Systems/${id}`)).json.Boot["UefiTargetBootSourceOverride@Redfish.AllowableValues"];
    expect(allowed).toHaveLength(2);
    expect(allowed).toContain(path);
  });

  it("refuses null for a string iSCSIBoot property of a NIC function", async () => {
    expect(ids(await l.call("PATCH", l.fn(l.add()).uri, { iSCSIBoot: { InitiatorName: null } }))).toEqual(["Base.1.8.PropertyValueTypeError"]);
  });
});

describe("lenovo (XCC)", () => {
  const l = lab({ flavour: "lenovo" });
  const target = { PrimaryTargetName: "iqn.2001-04.com.example:vol", PrimaryTargetIPAddress: "10.0.0.9", InitiatorIPAddress: "10.0.0.5", PrimaryLUN: 3 };

  it("names Lenovo in the ServiceRoot and serves an XClarity Controller manager", async () => {
    const id = l.add();
    expect((await l.call("GET", "/redfish/v1/")).json).toMatchObject({ Vendor: "Lenovo", Oem: { Lenovo: {} } });
    const manager = (await l.call("GET", (await l.call("GET", `/redfish/v1/Systems/${id}`)).json.Links.ManagedBy[0]["@odata.id"])).json;
    expect(manager).toMatchObject({ Model: "XClarity Controller", FirmwareVersion: "TGBT58O 5.10", Oem: { Lenovo: {} } });
  });

  it("refuses a PATCH of the function itself (405)", async () => {
    expect((await l.call("PATCH", l.fn(l.add()).uri, { iSCSIBoot: target })).status).toBe(405);
  });

  it("publishes no @Redfish.Settings on its functions", async () => {
    expect((await l.call("GET", l.fn(l.add()).uri)).json).not.toHaveProperty("@Redfish.Settings");
  });

  it("reads unset iSCSIBoot values as zero addresses, empty names, LUN 0, port 3260", async () => {
    expect((await l.call("GET", l.fn(l.add()).uri)).json.iSCSIBoot).toMatchObject({
      InitiatorIPAddress: "0.0.0.0", InitiatorName: "", PrimaryTargetName: "", CHAPUsername: "", PrimaryLUN: 0, PrimaryTargetTCPPort: 3260, AuthenticationMethod: "None",
    });
  });

  it("takes iSCSIBoot at {function}/Pending and answers 200 with a reset-required message", async () => {
    const res = await l.call("PATCH", `${l.fn(l.add()).uri}/Pending`, { iSCSIBoot: { ...target, AuthenticationMethod: "CHAP", CHAPUsername: "u", CHAPSecret: "s" } });
    expect(res.status).toBe(200);
    expect(res.json["@Message.ExtendedInfo"]).toEqual([expect.objectContaining({ MessageId: expect.stringMatching(/ResetRequired$/), Message: expect.stringMatching(/take effect after reboot/) })]);
  });

  it("refuses other iSCSIBoot properties (PropertyNotWritable) and BootMode at Pending", async () => {
    const res = await l.call("PATCH", `${l.fn(l.add()).uri}/Pending`, { BootMode: "iSCSI", iSCSIBoot: { SecondaryTargetName: "x", PrimaryVLANId: 3 } });
    expect(res.status).toBe(400);
    expect(res.json.error["@Message.ExtendedInfo"].map((i: { MessageId: string; MessageArgs: string[] }) => [i.MessageId, i.MessageArgs[0]])).toEqual([
      ["Base.1.8.PropertyNotWritable", "BootMode"], ["Base.1.8.PropertyNotWritable", "iSCSIBoot.SecondaryTargetName"], ["Base.1.8.PropertyNotWritable", "iSCSIBoot.PrimaryVLANId"],
    ]);
  });

  it("refuses CHAP names and secrets the resulting AuthenticationMethod does not use", async () => {
    const fn = l.fn(l.add());
    expect(ids(await l.call("PATCH", `${fn.uri}/Pending`, { iSCSIBoot: { CHAPUsername: "u" } }))).toEqual(["Base.1.8.PropertyNotWritable"]);
    expect(ids(await l.call("PATCH", `${fn.uri}/Pending`, { iSCSIBoot: { AuthenticationMethod: "CHAP", MutualCHAPUsername: "m" } }))).toEqual(["Base.1.8.PropertyNotWritable"]);
  });

  it("refuses null for string iSCSIBoot properties", async () => {
    expect(ids(await l.call("PATCH", `${l.fn(l.add()).uri}/Pending`, { iSCSIBoot: { PrimaryTargetName: null } }))).toEqual(["Base.1.8.PropertyValueTypeError"]);
  });

  it("renders {function}/Pending: empty until staged, then the staged values with secrets null", async () => {
    const fn = l.fn(l.add());
    const empty = (await l.call("GET", `${fn.uri}/Pending`)).json;
    expect(empty).not.toHaveProperty("iSCSIBoot");
    await l.call("PATCH", `${fn.uri}/Pending`, { iSCSIBoot: { ...target, AuthenticationMethod: "CHAP", CHAPUsername: "u", CHAPSecret: "s" } });
    expect((await l.call("GET", `${fn.uri}/Pending`)).json.iSCSIBoot).toEqual({ ...target, AuthenticationMethod: "CHAP", CHAPUsername: "u", CHAPSecret: null });
  });

  it("applies staged values at the next POST, and a function with a target then boots iSCSI", async () => {
    const id = l.add();
    const fn = l.fn(id);
    await l.call("PATCH", `${fn.uri}/Pending`, { iSCSIBoot: target });
    expect((await l.call("GET", fn.uri)).json.BootMode).toBe("Disabled");
    const s = await l.boot(id);
    expect((await l.call("GET", fn.uri)).json).toMatchObject({ BootMode: "iSCSI", iSCSIBoot: target });
    expect(s.boots.at(-1)!.iscsi).toEqual([expect.objectContaining({ functionId: fn.id })]);
    expect(s.bootOptions.some((o) => o.device.kind === "iscsi" && o.device.target === target.PrimaryTargetName)).toBe(true);
  });

  it("offers XCC's boot targets and lists the SAN paths in force plus the disk as UefiTarget values", async () => {
    const id = l.add();
    await l.call("PATCH", `${l.fn(id).uri}/Pending`, { iSCSIBoot: target });
    await l.boot(id);
    const boot = (await l.call("GET", `/redfish/v1/Systems/${id}`)).json.Boot;
    expect(boot["BootSourceOverrideTarget@Redfish.AllowableValues"]).toEqual(["None", "Pxe", "Cd", "Usb", "Hdd", "BiosSetup", "Diags", "UefiTarget"]);
    expect(boot["UefiTargetBootSourceOverride@Redfish.AllowableValues"]).toEqual(l.snap(id).bootOptions.filter((o) => o.device.kind !== "pxe").map((o) => o.path));
  });

  it("boots once through a PATCH of Systems/{id} Boot", async () => {
    const id = l.add();
    await l.call("PATCH", `${l.fn(id).uri}/Pending`, { iSCSIBoot: target });
    const path = (await l.boot(id)).bootOptions.find((o) => o.device.kind === "iscsi")!.path;
    expect((await l.call("PATCH", `/redfish/v1/Systems/${id}`, { Boot: { BootSourceOverrideTarget: "UefiTarget", BootSourceOverrideEnabled: "Once", UefiTargetBootSourceOverride: path } })).status).toBe(200);
    expect((await l.boot(id)).boots.at(-1)!.booted).toMatchObject({ kind: "iscsi", target: target.PrimaryTargetName, lun: 3 });
  });
});

describe("supermicro", () => {
  const l = lab({ flavour: "supermicro" });

  it("names Supermicro in the ServiceRoot and serves an X13 manager", async () => {
    const id = l.add();
    expect((await l.call("GET", "/redfish/v1/")).json.Vendor).toBe("Supermicro");
    const manager = (await l.call("GET", (await l.call("GET", `/redfish/v1/Systems/${id}`)).json.Links.ManagedBy[0]["@odata.id"])).json;
    expect(manager.Model).toMatch(/^X13/);
  });

  it("has Ethernet-only NICs: no iSCSI capability, no iSCSIBoot, no FC functions", async () => {
    const id = l.add({ fcPorts: 2, converged: true });
    const s = l.snap(id);
    expect(s.functions.every((f) => f.capabilities.join() === "Ethernet")).toBe(true);
    expect((await l.call("GET", l.fn(id).uri)).json).not.toHaveProperty("iSCSIBoot");
  });

  it("serves BIOS attributes by attribute-registry names", async () => {
    expect((await l.call("GET", `/redfish/v1/Systems/${l.add()}/Bios`)).json.Attributes).toMatchObject({ QuietBoot_0027: "Enabled" });
  });

  it("offers None, Pxe, Hdd, Cd, Usb, BiosSetup, UefiShell, UefiHttp: no UefiTarget", async () => {
    expect((await l.call("GET", `/redfish/v1/Systems/${l.add()}`)).json.Boot["BootSourceOverrideTarget@Redfish.AllowableValues"]).toEqual(["None", "Pxe", "Hdd", "Cd", "Usb", "BiosSetup", "UefiShell", "UefiHttp"]);
  });
});

describe("control API", () => {
  const l = lab({});

  it("takes the new flavours and options", async () => {
    for (const flavour of ["dell10", "lenovo", "supermicro"]) {
      expect((await l.call("POST", "/_lab/systems", { id: `ctl-${flavour}`, flavour })).json).toMatchObject({ flavour });
    }
    const dell = await l.call("POST", "/_lab/systems", { id: "ctl-dell", flavour: "dell", dellBiosIscsi: true, remoteDrive: true });
    expect(dell.json.bios.attributes).toHaveProperty("IscsiDev1EnDis", "Disabled");
    expect((await l.call("POST", "/_lab/systems", { id: "ctl-hpe", flavour: "hpe", hpeBios: { NicBoot2: "NetworkBoot" }, fcPorts: 2 })).json.bios.attributes.NicBoot2).toBe("NetworkBoot");
    expect((await l.call("POST", "/_lab/systems", { id: "ctl-bad", flavour: "cisco" })).status).toBe(400);
  });

  it("takes the faults, lcNotReady included", async () => {
    await l.call("POST", "/_lab/systems", { id: "ctl-f", flavour: "hpe" });
    const faults = await l.call("PUT", "/_lab/systems/ctl-f/faults", { maxSessions: 1, sessionLimitStatus: 401, settingsFailOnReset: true, lcNotReady: 3 });
    expect(faults.json).toMatchObject({ maxSessions: 1, sessionLimitStatus: 401, settingsFailOnReset: true, lcNotReady: 3 });
    expect((await l.call("PUT", "/_lab/systems/ctl-f/faults", { sessionLimitStatus: 418 })).status).toBe(400);
  });

  it("snapshots BootOptions with the device behind each (the disk first, then a PXE option per port)", async () => {
    const snap = (await l.call("POST", "/_lab/systems", { id: "ctl-s", flavour: "dell" })).json;
    expect(snap.bootOptions[0]).toMatchObject({ id: "Boot0000", uri: "/redfish/v1/Systems/ctl-s/BootOptions/Boot0000", device: { kind: "disk", path: expect.any(String) } });
    expect(snap.bootOptions.slice(1).map((o: { device: { kind: string } }) => o.device.kind)).toEqual(["pxe", "pxe", "pxe"]);
  });
});
