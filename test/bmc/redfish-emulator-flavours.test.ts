/**
 * What the lab BMC's flavours promise at the HTTP level, for every suite that relies on them:
 * settings objects and task monitors, Dell jobs and the refusal to PATCH the function itself,
 * FC functions and their validation, HPE's BIOS iSCSI, allowable values, ETags per write, and the
 * control API's new options.
 */
import { Agent, request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startRedfishEmulator, type RedfishEmulator } from "../../lab/redfish-emulator";

let emu: RedfishEmulator;
let agent: Agent;
const AUTH = `Basic ${Buffer.from("admin:password").toString("base64")}`;

beforeAll(async () => {
  emu = await startRedfishEmulator({
    port: 0,
    powerDelayMs: 20,
    taskDelayMs: 40,
    systems: [{ id: "gs", flavour: "generic-settings", fcPorts: 1 }, { id: "dl", flavour: "dell" }, { id: "hp", flavour: "hpe" }],
  });
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

const iscsiFn = (id: string) => emu.system(id).functions.find((f) => f.capabilities.includes("iSCSI") && !f.foreign)!.uri;

describe("lab BMC flavours", () => {
  it("generic-settings: a settings PATCH answers 202 and a task monitor that answers 202 until the task completes", async () => {
    const fn = (await call("GET", iscsiFn("gs"))).json;
    expect(fn["@Redfish.Settings"]).toMatchObject({ SettingsObject: { "@odata.id": `${iscsiFn("gs")}/Settings` }, SupportedApplyTimes: ["Immediate", "OnReset"] });
    const s0 = await call("GET", `${iscsiFn("gs")}/Settings`);
    const w = await call("PATCH", `${iscsiFn("gs")}/Settings`, { BootMode: "iSCSI", "@Redfish.SettingsApplyTime": { ApplyTime: "OnReset" } }, { "if-match": s0.etag! });
    expect(w.status).toBe(202);
    expect(w.location).toMatch(/^\/redfish\/v1\/TaskService\/TaskMonitors\//);
    expect(w.etag).not.toBe(s0.etag);
    expect((await call("GET", w.location!)).status).toBe(202);
    await new Promise((r) => setTimeout(r, 60));
    const done = await call("GET", w.location!);
    expect(done).toMatchObject({ status: 200, json: { TaskState: "Completed" } });
    expect((await call("GET", `${iscsiFn("gs")}/Settings`)).json.BootMode).toBe("iSCSI");
    expect((await call("GET", iscsiFn("gs"))).json.BootMode).toBe("Disabled");
  });

  it("generic-settings: refuses an apply time it does not offer", async () => {
    const w = await call("PATCH", `${iscsiFn("gs")}/Settings`, { BootMode: "iSCSI", "@Redfish.SettingsApplyTime": { ApplyTime: "AtMaintenanceWindowStart" } });
    expect(w.status).toBe(400);
    expect(w.json.error["@Message.ExtendedInfo"][0].MessageId).toMatch(/PropertyValueNotInList$/);
  });

  it("dell: a Manager like iDRAC's, jobs in Location, and no PATCH on the function itself", async () => {
    expect((await call("GET", "/redfish/v1/Managers/iDRAC.Embedded.1")).json).toMatchObject({ Model: "14G Monolithic", Oem: { Dell: {} } });
    expect((await call("PATCH", iscsiFn("dl"), { BootMode: "iSCSI" })).status).toBe(405);
    const w = await call("PATCH", `${iscsiFn("dl")}/Settings`, { BootMode: "iSCSI", "@Redfish.SettingsApplyTime": { ApplyTime: "OnReset" } });
    expect(w.status).toBe(202);
    expect((await call("GET", w.location!)).json).toMatchObject({ JobState: "Scheduled", MessageId: "JCP001" });
    const sys = (await call("GET", "/redfish/v1/Systems/dl")).json;
    expect(sys.Boot["BootSourceOverrideTarget@Redfish.AllowableValues"]).not.toContain("RemoteDrive");
    await call("POST", sys.Actions["#ComputerSystem.Reset"].target, { ResetType: "On" });
    await new Promise((r) => setTimeout(r, 50));
    expect((await call("GET", w.location!)).json.JobState).toBe("Completed");
    expect((await call("GET", iscsiFn("dl"))).json["@Redfish.Settings"].Messages[0].MessageId).toMatch(/Success$/);
  });

  it("fc: WWPN identity, no Ethernet, BootTargets validated", async () => {
    const fc = emu.system("gs").functions.find((f) => f.fc)!;
    const body = (await call("GET", fc.uri)).json;
    expect(body).toMatchObject({ NetDevFuncType: "FibreChannel", FibreChannel: { PermanentWWPN: fc.fc!.permanentWwpn, BootTargets: [] } });
    expect(body).not.toHaveProperty("Ethernet");
    const bad = await call("PATCH", `${fc.uri}/Settings`, { FibreChannel: { BootTargets: [{ WWPN: "nope", LUNID: 1, BootPriority: 0 }], PermanentWWPN: "x" } });
    expect(bad.status).toBe(400);
    expect(bad.json.error["@Message.ExtendedInfo"].map((i: { MessageId: string }) => i.MessageId.split(".").pop())).toEqual(["PropertyValueFormatError", "PropertyNotWritable"]);
  });

  it("hpe: Bios links the UEFI iSCSI initiator, whose settings take {} for untouched attempts", async () => {
    const bios = (await call("GET", "/redfish/v1/Systems/hp/Bios")).json;
    const uri = bios.Oem.Hpe.Links.iScsi["@odata.id"];
    const iscsi = (await call("GET", uri)).json;
    expect(iscsi.iSCSISources).toHaveLength(4);
    const w = await call("PATCH", `${uri}/Settings`, { iSCSISources: [{}, { iSCSITargetName: "iqn.x:y", iSCSIChapSecret: "s" }] });
    expect(w.status).toBe(200);
    expect(w.json.error["@Message.ExtendedInfo"][0].MessageId).toMatch(/SystemResetRequired$/);
    const staged = (await call("GET", `${uri}/Settings`)).json;
    expect(staged.iSCSISources[0]).toEqual({});
    expect(staged.iSCSISources[1]).toMatchObject({ iSCSITargetName: "iqn.x:y", iSCSIChapSecret: null });
  });

  it("the control API takes flavours, FC ports and the new faults", async () => {
    expect((await call("POST", "/_lab/systems", { id: "ctl", flavour: "hpe", fcPorts: 2 })).json).toMatchObject({ flavour: "hpe" });
    const faults = await call("PUT", "/_lab/systems/ctl/faults", { maxSessions: 1, sessionLimitStatus: 401, settingsFailOnReset: true });
    expect(faults.json).toMatchObject({ maxSessions: 1, sessionLimitStatus: 401, settingsFailOnReset: true });
    expect((await call("PUT", "/_lab/systems/ctl/faults", { sessionLimitStatus: 418 })).status).toBe(400);
  });
});
