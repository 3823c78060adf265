/**
 * The lab BMC is a test double other suites rely on: these pin down the Redfish behaviours it
 * promises (ETags, If-Match, write-only secrets, error bodies, auth), the boot as hardware does it
 * (POST after PowerState On, settings applied at its end, Immediate applies resetting the host),
 * BootOptions and what a boot records as booted, and its control API.
 */
import { Agent, request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startRedfishEmulator, type RedfishEmulator, type SystemSnapshot, type SystemSpec } from "../../lab/redfish-emulator";

let emu: RedfishEmulator;
let agent: Agent;
const AUTH = `Basic ${Buffer.from("admin:password").toString("base64")}`;
const POWER_MS = 30;
const POST_MS = 90;

beforeAll(async () => {
  emu = await startRedfishEmulator({ port: 0, powerDelayMs: POWER_MS, postDelayMs: POST_MS, taskDelayMs: 20, systems: [{ id: "emu-a", mac: "02:00:00:aa:00:01" }, {}] });
  agent = new Agent({ connect: { ca: emu.caPem } });
});
afterAll(async () => {
  await agent.close();
  await emu.close();
});

async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const res = await request(`${emu.url}${path}`, {
    method: method as "GET",
    dispatcher: agent,
    headers: { authorization: AUTH, ...(body === undefined ? {} : { "content-type": "application/json" }), ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.body.text();
  return { status: res.statusCode, etag: res.headers.etag as string | undefined, location: res.headers.location as string | undefined, json: text ? JSON.parse(text) : undefined };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(id: string, ok: (s: SystemSnapshot) => boolean, ms = 3000): Promise<SystemSnapshot> {
  const end = Date.now() + ms;
  for (;;) {
    const s = emu.system(id);
    if (ok(s)) return s;
    if (Date.now() > end) throw new Error(`timed out waiting on ${id}: ${s.PowerState} ${s.BootProgress.LastState}`);
    await sleep(3);
  }
}

let added = 0;
/** A fresh system for one test (no operator configuration unless asked). */
function add(spec: SystemSpec = {}): string {
  const id = `t-${++added}`;
  emu.addSystem({ id, operatorConfig: false, ...spec });
  return id;
}

const resetUri = (id: string) => `/redfish/v1/Systems/${id}/Actions/ComputerSystem.Reset`;

/** Powers on (or restarts) and waits for the OS: the boot is recorded by then. */
async function boot(id: string): Promise<SystemSnapshot> {
  const before = emu.system(id).boots.length;
  const on = emu.system(id).PowerState === "On";
  expect((await call("POST", resetUri(id), { ResetType: on ? "ForceRestart" : "On" })).status).toBe(204);
  return waitFor(id, (s) => s.boots.length > before && s.BootProgress.LastState === "OSRunning");
}

const fnOf = (id: string, n = 0) => emu.system(id).functions.filter((f) => f.capabilities.includes("iSCSI") && !f.foreign)[n]!;
const fnPath = () => fnOf("emu-a").uri;

/** Arms a generic function for iSCSI in place (generic applies at once). */
async function armIscsi(id: string, target = "iqn.2001-04.com.example:vol-1", n = 0) {
  const res = await call("PATCH", fnOf(id, n).uri, {
    BootMode: "iSCSI",
    iSCSIBoot: {
      InitiatorName: "iqn.2001-04.com.example:host", InitiatorIPAddress: "10.0.0.5", PrimaryTargetName: target, PrimaryTargetIPAddress: "10.0.0.9",
      PrimaryLUN: 1, AuthenticationMethod: "CHAP", CHAPUsername: "user", CHAPSecret: "secret-1",
    },
  });
  expect(res.status).toBe(200);
}

describe("lab Redfish emulator", () => {
  it("generates ids per system instead of fixed ones", () => {
    const [a, b] = emu.systemIds();
    expect(a).toBe("emu-a");
    const adaptersA = emu.system(a!).functions.map((f) => f.adapterId);
    const adaptersB = emu.system(b!).functions.map((f) => f.adapterId);
    expect(adaptersA).toContain("NIC.Slot.1");
    expect(adaptersB).toContain("NIC.Slot.2");
  });

  it("serves the service root without credentials and everything else only with them", async () => {
    expect((await call("GET", "/redfish/v1/", undefined, { authorization: "" })).status).toBe(200);
    const denied = await call("GET", "/redfish/v1/Systems", undefined, { authorization: "" });
    expect(denied.status).toBe(401);
    expect(denied.json.error["@Message.ExtendedInfo"][0].MessageId).toMatch(/NoValidSession$/);
  });

  it("answers an ETag header equal to @odata.etag, changed by every write", async () => {
    const first = await call("GET", fnPath());
    expect(first.etag).toBe(first.json["@odata.etag"]);
    const w1 = await call("PATCH", fnPath(), { iSCSIBoot: { PrimaryLUN: 2 } }, { "if-match": first.etag! });
    expect(w1.status).toBe(200);
    const w2 = await call("PATCH", fnPath(), { iSCSIBoot: { PrimaryLUN: 2 } }, { "if-match": w1.etag! });
    expect(new Set([first.etag, w1.etag, w2.etag]).size).toBe(3);
  });

  it("refuses a stale If-Match with 412 and writes nothing", async () => {
    const { etag } = await call("GET", fnPath());
    await call("PATCH", fnPath(), { iSCSIBoot: { PrimaryLUN: 3 } }, { "if-match": etag! });
    const stale = await call("PATCH", fnPath(), { iSCSIBoot: { PrimaryLUN: 9 } }, { "if-match": etag! });
    expect(stale.status).toBe(412);
    expect(emu.system("emu-a").functions.find((f) => f.uri === fnPath())!.iSCSIBoot.PrimaryLUN).toBe(3);
  });

  it("keeps CHAPSecret write-only: null on GET, held in the lab state", async () => {
    await call("PATCH", fnPath(), { iSCSIBoot: { AuthenticationMethod: "CHAP", CHAPUsername: "u", CHAPSecret: "hidden-secret" } });
    expect((await call("GET", fnPath())).json.iSCSIBoot.CHAPSecret).toBeNull();
    expect(emu.system("emu-a").functions.find((f) => f.uri === fnPath())!.iSCSIBoot.CHAPSecret).toBe("hidden-secret");
  });

  it("answers Redfish error bodies for unknown properties and values not in the list", async () => {
    const res = await call("PATCH", fnPath(), { BootMode: "FibreChannel", iSCSIBoot: { Nope: true } });
    expect(res.status).toBe(400);
    const ids = res.json.error["@Message.ExtendedInfo"].map((i: { MessageId: string }) => i.MessageId);
    expect(ids).toEqual(["Base.1.8.PropertyValueNotInList", "Base.1.8.PropertyUnknown"]);
  });

  it("generic: accepts null for string iSCSIBoot properties, as the DMTF schema allows", async () => {
    expect((await call("PATCH", fnPath(), { iSCSIBoot: { SecondaryTargetName: null, InitiatorName: null } })).status).toBe(200);
  });

  it("adds systems, reads state and switches faults through the /_lab control API", async () => {
    const created = await call("POST", "/_lab/systems", { id: "emu-c", mac: "02:00:00:cc:00:01" });
    expect(created.status).toBe(201);
    expect(created.json.functions.map((f: { mac: string }) => f.mac)).toContain("02:00:00:CC:00:01");
    expect((await call("PUT", "/_lab/systems/emu-c/faults", { failNext: 1, failStatus: 502 })).status).toBe(200);
    expect((await call("GET", "/redfish/v1/Systems/emu-c")).status).toBe(502);
    expect((await call("GET", "/redfish/v1/Systems/emu-c")).status).toBe(200);
    expect((await call("GET", "/_lab/systems/emu-c/patches")).json).toEqual({ count: 0, patches: [] });
    const ca = await request(`${emu.url}/_lab/ca.pem`, { dispatcher: agent });
    expect(await ca.body.text()).toBe(emu.caPem);
  });
});

describe("power and POST", () => {
  it("moves PowerState through PoweringOn to On, then BootProgress to OSRunning", async () => {
    const id = add();
    expect((await call("POST", resetUri(id), { ResetType: "On" })).status).toBe(204);
    expect(emu.system(id)).toMatchObject({ PowerState: "PoweringOn", BootProgress: { LastState: "PrimaryProcessorInitializationStarted" } });
    await waitFor(id, (s) => s.BootProgress.LastState === "OSRunning");
    expect((await call("POST", resetUri(id), { ResetType: "ForceOff" })).status).toBe(204);
    expect(emu.system(id).PowerState).toBe("PoweringOff");
    expect((await waitFor(id, (s) => s.PowerState === "Off")).BootProgress.LastState).toBe("None");
  });

  it("with no power or POST delay, is booted (and off) by the time the reset is answered", async () => {
    const zero = await startRedfishEmulator({ port: 0, powerDelayMs: 0, systems: [{ id: "z-1" }, { id: "z-2", flavour: "generic-settings" }] });
    const zeroAgent = new Agent({ connect: { ca: zero.caPem } });
    try {
      const send = async (method: string, path: string, body: unknown) =>
        (await request(`${zero.url}${path}`, { method: method as "POST", dispatcher: zeroAgent, headers: { authorization: AUTH, "content-type": "application/json" }, body: JSON.stringify(body) })).statusCode;
      const reset = (ResetType: string, id = "z-1") => send("POST", resetUri(id), { ResetType });
      // settings staged for the POST still apply after PowerState On, never at the reset
      const staged = zero.system("z-2").functions.find((f) => f.capabilities.includes("iSCSI") && !f.foreign)!;
      expect(await send("PATCH", `${staged.uri}/Settings`, { BootMode: "iSCSI", "@Redfish.SettingsApplyTime": { ApplyTime: "OnReset" } })).toBe(202);
      await reset("On", "z-2");
      expect(zero.system("z-2").functions.find((f) => f.id === staged.id)).toMatchObject({ bootMode: "Disabled", pending: { bootMode: "iSCSI" } });
      expect(zero.system("z-2").boots).toHaveLength(0);
      for (let i = 0; i < 100 && zero.system("z-2").functions.find((f) => f.id === staged.id)!.pending !== null; i++) await sleep(5);
      expect(zero.system("z-2").functions.find((f) => f.id === staged.id)!.bootMode).toBe("iSCSI");
      const before = zero.system("z-1").BootProgress.LastStateTime;
      await reset("On");
      const on = zero.system("z-1");
      expect(on).toMatchObject({ PowerState: "On", BootProgress: { LastState: "OSRunning" } });
      expect(on.BootProgress.LastStateTime >= before).toBe(true);
      expect(on.boots).toHaveLength(1);
      await reset("ForceOff");
      expect(zero.system("z-1")).toMatchObject({ PowerState: "Off", BootProgress: { LastState: "None" } });
    } finally {
      await zeroAgent.close();
      await zero.close();
    }
  });

  it("reaches PowerState On at SystemHardwareInitializationComplete, with POST still ahead", async () => {
    const id = add();
    await call("POST", resetUri(id), { ResetType: "On" });
    const on = await waitFor(id, (s) => s.PowerState === "On");
    expect(["SystemHardwareInitializationComplete", "PCIResourceConfigStarted"]).toContain(on.BootProgress.LastState);
    expect(on.boots).toHaveLength(0);
    expect((await waitFor(id, (s) => s.BootProgress.LastState === "PCIResourceConfigStarted")).PowerState).toBe("On");
  });

  it("goes OSBootStarted then OSRunning after POST, updating LastStateTime on each change", async () => {
    const id = add();
    await call("POST", resetUri(id), { ResetType: "On" });
    const seen: Array<{ state: string; at: string }> = [];
    await waitFor(id, (s) => {
      if (seen.at(-1)?.state !== s.BootProgress.LastState) seen.push({ state: s.BootProgress.LastState, at: s.BootProgress.LastStateTime });
      return s.BootProgress.LastState === "OSRunning";
    });
    const states = seen.map((x) => x.state);
    expect(states.indexOf("OSBootStarted")).toBeGreaterThan(states.indexOf("SystemHardwareInitializationComplete"));
    expect(states.at(-1)).toBe("OSRunning");
    expect(new Set(seen.map((x) => x.at)).size).toBeGreaterThan(1);
  });

  it("keeps staged settings pending when PowerState turns On; they apply postDelayMs later", async () => {
    const id = add({ flavour: "generic-settings" });
    const fn = fnOf(id);
    expect((await call("PATCH", `${fn.uri}/Settings`, { BootMode: "iSCSI", "@Redfish.SettingsApplyTime": { ApplyTime: "OnReset" } })).status).toBe(202);
    await call("POST", resetUri(id), { ResetType: "On" });
    const on = await waitFor(id, (s) => s.PowerState === "On");
    expect(on.functions.find((f) => f.id === fn.id)).toMatchObject({ bootMode: "Disabled", pending: { bootMode: "iSCSI" } });
    const applied = await waitFor(id, (s) => s.functions.find((f) => f.id === fn.id)!.pending === null);
    expect(applied.functions.find((f) => f.id === fn.id)!.bootMode).toBe("iSCSI");
    // Timers never fire early: the apply is at least power + POST after the reset.
    const appliedAt = Date.parse((await call("GET", fn.uri)).json["@Redfish.Settings"].Time);
    expect(appliedAt - Date.parse(applied.resets[0]!.at)).toBeGreaterThanOrEqual(POWER_MS + POST_MS - 5);
  });

  it("sets @Redfish.Settings Time, ETag and Messages only when settings apply", async () => {
    const id = add({ flavour: "generic-settings" });
    const fn = fnOf(id);
    await call("PATCH", `${fn.uri}/Settings`, { BootMode: "iSCSI", "@Redfish.SettingsApplyTime": { ApplyTime: "OnReset" } });
    const before = (await call("GET", fn.uri)).json["@Redfish.Settings"];
    expect(before).not.toHaveProperty("Time");
    expect(before.Messages).toEqual([]);
    await boot(id);
    const after = (await call("GET", fn.uri)).json["@Redfish.Settings"];
    expect(after).toMatchObject({ Time: expect.any(String), ETag: expect.any(String), Messages: [expect.objectContaining({ MessageId: "Base.1.8.Success" })] });
  });

  it("records the boot after the settings applied: it sees what they armed", async () => {
    const id = add({ flavour: "generic-settings" });
    const fn = fnOf(id);
    await call("PATCH", `${fn.uri}/Settings`, { BootMode: "iSCSI", iSCSIBoot: { PrimaryTargetName: "iqn.x:t" }, "@Redfish.SettingsApplyTime": { ApplyTime: "OnReset" } });
    const s = await boot(id);
    expect(s.boots.at(-1)!.iscsi).toEqual([expect.objectContaining({ functionId: fn.id, iscsiBoot: expect.objectContaining({ PrimaryTargetName: "iqn.x:t" }) })]);
  });

  it("cancels POST on a power off: nothing applied, no boot recorded", async () => {
    const id = add({ flavour: "generic-settings" });
    const fn = fnOf(id);
    await call("PATCH", `${fn.uri}/Settings`, { BootMode: "iSCSI", "@Redfish.SettingsApplyTime": { ApplyTime: "OnReset" } });
    await call("POST", resetUri(id), { ResetType: "On" });
    await waitFor(id, (s) => s.PowerState === "On");
    expect((await call("POST", resetUri(id), { ResetType: "ForceOff" })).status).toBe(204);
    await waitFor(id, (s) => s.PowerState === "Off");
    await sleep(POST_MS + 40);
    const s = emu.system(id);
    expect(s.boots).toHaveLength(0);
    expect(s.functions.find((f) => f.id === fn.id)!.pending).toEqual({ bootMode: "iSCSI" });
  });

  it("keeps the Messages of the previous apply when new settings are staged", async () => {
    const id = add({ flavour: "generic-settings" });
    const fn = fnOf(id);
    await call("PATCH", `${fn.uri}/Settings`, { BootMode: "iSCSI", "@Redfish.SettingsApplyTime": { ApplyTime: "OnReset" } });
    await boot(id);
    await call("PATCH", `${fn.uri}/Settings`, { BootMode: "PXE", "@Redfish.SettingsApplyTime": { ApplyTime: "OnReset" } });
    expect((await call("GET", fn.uri)).json["@Redfish.Settings"].Messages).toEqual([expect.objectContaining({ MessageId: "Base.1.8.Success" })]);
  });

  it("consumes a Once override at the boot", async () => {
    const id = add();
    await call("PATCH", `/redfish/v1/Systems/${id}`, { Boot: { BootSourceOverrideTarget: "Pxe", BootSourceOverrideEnabled: "Once" } });
    const s = await boot(id);
    expect(s.Boot.BootSourceOverrideEnabled).toBe("Disabled");
    expect(s.boots.at(-1)!.override).toEqual({ target: "Pxe", mode: "UEFI" });
  });

  it("Immediate: when the task completes the settings apply and a powered-on host is reset (ImmediateApply)", async () => {
    const id = add({ flavour: "generic-settings", powerState: "On" });
    const fn = fnOf(id);
    expect((await call("PATCH", `${fn.uri}/Settings`, { BootMode: "iSCSI", "@Redfish.SettingsApplyTime": { ApplyTime: "Immediate" } })).status).toBe(202);
    const s = await waitFor(id, (x) => x.boots.length === 1 && x.BootProgress.LastState === "OSRunning");
    expect(s.resets).toEqual([expect.objectContaining({ resetType: "ImmediateApply" })]);
    expect(s.functions.find((f) => f.id === fn.id)!.bootMode).toBe("iSCSI");
  });

  it("Immediate: a powered-off host gets the settings applied and stays off", async () => {
    const id = add({ flavour: "generic-settings" });
    const fn = fnOf(id);
    await call("PATCH", `${fn.uri}/Settings`, { BootMode: "iSCSI", "@Redfish.SettingsApplyTime": { ApplyTime: "Immediate" } });
    const s = await waitFor(id, (x) => x.functions.find((f) => f.id === fn.id)!.pending === null);
    expect(s.functions.find((f) => f.id === fn.id)!.bootMode).toBe("iSCSI");
    await sleep(POWER_MS + 10);
    expect(emu.system(id)).toMatchObject({ PowerState: "Off", resets: [], boots: [] });
  });
});

describe("boot override targets", () => {
  it("generic: offers None, Pxe, Cd, Usb, Hdd, BiosSetup, UefiShell, UefiTarget, UefiHttp, UefiBootNext and no RemoteDrive", async () => {
    const boot = (await call("GET", `/redfish/v1/Systems/${add()}`)).json.Boot;
    expect(boot["BootSourceOverrideTarget@Redfish.AllowableValues"]).toEqual(["None", "Pxe", "Cd", "Usb", "Hdd", "BiosSetup", "UefiShell", "UefiTarget", "UefiHttp", "UefiBootNext"]);
  });

  it("remoteDrive: true adds RemoteDrive to the override targets", async () => {
    const boot = (await call("GET", `/redfish/v1/Systems/${add({ remoteDrive: true })}`)).json.Boot;
    expect(boot["BootSourceOverrideTarget@Redfish.AllowableValues"]).toContain("RemoteDrive");
  });

  it("generic: refuses RemoteDrive when it is not offered", async () => {
    const res = await call("PATCH", `/redfish/v1/Systems/${add()}`, { Boot: { BootSourceOverrideTarget: "RemoteDrive" } });
    expect(res.status).toBe(400);
    expect(res.json.error["@Message.ExtendedInfo"][0].MessageId).toBe("Base.1.8.PropertyValueNotInList");
  });

  it("generic: publishes no UefiTargetBootSourceOverride@Redfish.AllowableValues (clients read BootOptions)", async () => {
    expect((await call("GET", `/redfish/v1/Systems/${add()}`)).json.Boot).not.toHaveProperty("UefiTargetBootSourceOverride@Redfish.AllowableValues");
  });
});

describe("BootOptions", () => {
  it("links Boot.BootOptions to a collection holding the disk and a PXE option per PXE-capable port", async () => {
    const id = add();
    const sys = (await call("GET", `/redfish/v1/Systems/${id}`)).json;
    expect(sys.Boot.BootOptions["@odata.id"]).toBe(`/redfish/v1/Systems/${id}/BootOptions`);
    const members = (await call("GET", sys.Boot.BootOptions["@odata.id"])).json.Members;
    const options = await Promise.all(members.map(async (m: { "@odata.id": string }) => (await call("GET", m["@odata.id"])).json));
    expect(options[0]).toMatchObject({ "@odata.type": "#BootOption.v1_0_4.BootOption", Id: "Boot0000", BootOptionReference: "Boot0000", BootOptionEnabled: true, UefiDevicePath: expect.stringContaining("Sata(") });
    const pxe = options.filter((o) => /MAC\([0-9A-F]{12},0x1\)\/IPv4\(0\.0\.0\.0\)$/.test(o.UefiDevicePath));
    expect(pxe).toHaveLength(3);
  });

  it("adds an iSCSI option with the port's MAC once a function is armed for iSCSI", async () => {
    const id = add();
    await armIscsi(id);
    const option = emu.system(id).bootOptions.find((o) => o.device.kind === "iscsi")!;
    expect(option.path).toContain(`MAC(${fnOf(id).mac.replace(/:/g, "")},0x1)`);
    expect(option.path).toContain("iSCSI(iqn.2001-04.com.example:vol-1,");
    expect((await call("GET", option.uri)).json).toMatchObject({ UefiDevicePath: option.path, BootOptionReference: option.id });
  });

  it("keeps a device's BootOptionReference when other devices come and go", async () => {
    const id = add();
    await armIscsi(id, "iqn.x:first", 0);
    const first = emu.system(id).bootOptions.find((o) => o.path.includes("iqn.x:first"))!.id;
    await armIscsi(id, "iqn.x:second", 1);
    await call("PATCH", fnOf(id, 0).uri, { BootMode: "Disabled" });
    await call("PATCH", fnOf(id, 0).uri, { BootMode: "iSCSI" });
    const again = emu.system(id).bootOptions;
    expect(again.find((o) => o.path.includes("iqn.x:first"))!.id).toBe(first);
    expect(new Set(again.map((o) => o.id)).size).toBe(again.length);
  });

  it("serves Boot.BootNext, null until written", async () => {
    const id = add();
    expect((await call("GET", `/redfish/v1/Systems/${id}`)).json.Boot.BootNext).toBeNull();
    expect((await call("PATCH", `/redfish/v1/Systems/${id}`, { Boot: { BootNext: "Boot0000" } })).status).toBe(200);
    expect((await call("GET", `/redfish/v1/Systems/${id}`)).json.Boot.BootNext).toBe("Boot0000");
  });

  it("refuses UefiBootNext without a BootNext naming an existing option", async () => {
    const id = add();
    const res = await call("PATCH", `/redfish/v1/Systems/${id}`, { Boot: { BootSourceOverrideTarget: "UefiBootNext", BootSourceOverrideEnabled: "Once" } });
    expect(res.status).toBe(400);
    expect(res.json.error["@Message.ExtendedInfo"][0]).toMatchObject({ MessageId: "Base.1.8.PropertyValueNotInList", MessageArgs: ["null", "Boot.BootNext"] });
    const unknown = await call("PATCH", `/redfish/v1/Systems/${id}`, { Boot: { BootSourceOverrideTarget: "UefiBootNext", BootNext: "Boot00FF" } });
    expect(unknown.json.error["@Message.ExtendedInfo"][0]).toMatchObject({ MessageId: "Base.1.8.PropertyValueNotInList", RelatedProperties: ["#/Boot/BootNext"] });
  });

  it("boots the option BootNext names under a UefiBootNext override", async () => {
    const id = add();
    await armIscsi(id);
    const option = emu.system(id).bootOptions.find((o) => o.device.kind === "iscsi")!;
    expect((await call("PATCH", `/redfish/v1/Systems/${id}`, { Boot: { BootSourceOverrideTarget: "UefiBootNext", BootSourceOverrideEnabled: "Once", BootNext: option.id } })).status).toBe(200);
    const s = await boot(id);
    expect(s.boots.at(-1)!.booted).toMatchObject({ kind: "iscsi", target: "iqn.2001-04.com.example:vol-1", path: option.path });
  });

  it("refuses a UefiTargetBootSourceOverride that is no BootOption's path", async () => {
    const res = await call("PATCH", `/redfish/v1/Systems/${add()}`, { Boot: { UefiTargetBootSourceOverride: "PciRoot(0x0)/Pci(0x9,0x0)/iSCSI(iqn.nowhere,0x1,0x0,None,None,None,TCP)" } });
    expect(res.status).toBe(400);
    expect(res.json.error["@Message.ExtendedInfo"][0].MessageId).toBe("Base.1.8.PropertyValueNotInList");
  });

  it("accepts \"\" and a BootOption's path for UefiTargetBootSourceOverride", async () => {
    const id = add();
    expect((await call("PATCH", `/redfish/v1/Systems/${id}`, { Boot: { UefiTargetBootSourceOverride: "" } })).status).toBe(200);
    const disk = emu.system(id).bootOptions[0]!.path;
    expect((await call("PATCH", `/redfish/v1/Systems/${id}`, { Boot: { UefiTargetBootSourceOverride: disk } })).status).toBe(200);
  });
});

describe("what a boot records as booted", () => {
  it("records the disk when no override is enabled (the default order)", async () => {
    const id = add();
    await armIscsi(id);
    const s = await boot(id);
    expect(s.boots.at(-1)!.booted).toMatchObject({ kind: "disk" });
    expect(s.boots.at(-1)!.iscsi).toHaveLength(1);
  });

  it("records the iSCSI device a UefiTarget override names, with its initiator and CHAP", async () => {
    const id = add();
    await armIscsi(id);
    const path = emu.system(id).bootOptions.find((o) => o.device.kind === "iscsi")!.path;
    await call("PATCH", `/redfish/v1/Systems/${id}`, { Boot: { BootSourceOverrideTarget: "UefiTarget", BootSourceOverrideEnabled: "Once", UefiTargetBootSourceOverride: path } });
    const s = await boot(id);
    expect(s.boots.at(-1)!.booted).toEqual({
      kind: "iscsi", target: "iqn.2001-04.com.example:vol-1", targetIp: "10.0.0.9", port: null, lun: 1, initiator: "iqn.2001-04.com.example:host", initiatorIp: "10.0.0.5",
      mac: fnOf(id).mac, functionId: fnOf(id).id, chap: { username: "user", secret: "secret-1", mutualUsername: null, mutualSecret: null }, path,
    });
  });

  it("records the first armed SAN device under RemoteDrive", async () => {
    const id = add({ remoteDrive: true });
    await armIscsi(id, "iqn.x:second", 1);
    await call("PATCH", `/redfish/v1/Systems/${id}`, { Boot: { BootSourceOverrideTarget: "RemoteDrive", BootSourceOverrideEnabled: "Once" } });
    expect((await boot(id)).boots.at(-1)!.booted).toMatchObject({ kind: "iscsi", target: "iqn.x:second", functionId: fnOf(id, 1).id });
  });

  it("records a PXE boot on the port with PXE enabled under a Pxe override", async () => {
    const id = add();
    await call("PATCH", `/redfish/v1/Systems/${id}`, { Boot: { BootSourceOverrideTarget: "Pxe", BootSourceOverrideEnabled: "Once" } });
    expect((await boot(id)).boots.at(-1)!.booted).toMatchObject({ kind: "pxe", functionId: "NIC.Embedded.1-1-1" });
  });

  it("records setup under a BiosSetup override", async () => {
    const id = add();
    await call("PATCH", `/redfish/v1/Systems/${id}`, { Boot: { BootSourceOverrideTarget: "BiosSetup", BootSourceOverrideEnabled: "Once" } });
    expect((await boot(id)).boots.at(-1)!.booted).toEqual({ kind: "setup" });
  });
});
