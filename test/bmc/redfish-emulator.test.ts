/**
 * The lab BMC is a test double other suites rely on: these pin down the Redfish behaviours it
 * promises (ETags, If-Match, write-only secrets, error bodies, auth, power timing) and its
 * control API.
 */
import { Agent, request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startRedfishEmulator, type RedfishEmulator } from "../../lab/redfish-emulator";

let emu: RedfishEmulator;
let agent: Agent;
const AUTH = `Basic ${Buffer.from("admin:password").toString("base64")}`;

beforeAll(async () => {
  emu = await startRedfishEmulator({ port: 0, powerDelayMs: 30, systems: [{ id: "emu-a", mac: "02:00:00:aa:00:01" }, {}] });
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
  return { status: res.statusCode, etag: res.headers.etag as string | undefined, json: text ? JSON.parse(text) : undefined };
}

const fnPath = () => emu.system("emu-a").functions.find((f) => f.capabilities.includes("iSCSI"))!.uri;

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

  it("moves PowerState through PoweringOn to On after the delay, and consumes a Once override", async () => {
    const sys = (await call("GET", "/redfish/v1/Systems/emu-a")).json;
    await call("PATCH", sys["@odata.id"], { Boot: { BootSourceOverrideTarget: "RemoteDrive", BootSourceOverrideEnabled: "Once" } });
    const target = sys.Actions["#ComputerSystem.Reset"].target;
    expect((await call("POST", target, { ResetType: "On" })).status).toBe(204);
    expect(emu.system("emu-a").PowerState).toBe("PoweringOn");
    await new Promise((r) => setTimeout(r, 80));
    const on = emu.system("emu-a");
    expect(on).toMatchObject({ PowerState: "On", BootProgress: { LastState: "OSRunning" }, Boot: { BootSourceOverrideEnabled: "Disabled" } });
    expect((await call("POST", target, { ResetType: "ForceOff" })).status).toBe(204);
    await new Promise((r) => setTimeout(r, 80));
    expect(emu.system("emu-a").PowerState).toBe("Off");
  });

  it("adds systems, reads state and switches faults through the /_lab control API", async () => {
    const added = await call("POST", "/_lab/systems", { id: "emu-c", mac: "02:00:00:cc:00:01" });
    expect(added.status).toBe(201);
    expect(added.json.functions.map((f: { mac: string }) => f.mac)).toContain("02:00:00:CC:00:01");
    expect((await call("PUT", "/_lab/systems/emu-c/faults", { failNext: 1, failStatus: 502 })).status).toBe(200);
    expect((await call("GET", "/redfish/v1/Systems/emu-c")).status).toBe(502);
    expect((await call("GET", "/redfish/v1/Systems/emu-c")).status).toBe(200);
    expect((await call("GET", "/_lab/systems/emu-c/patches")).json).toEqual({ count: 0, patches: [] });
    const ca = await request(`${emu.url}/_lab/ca.pem`, { dispatcher: agent });
    expect(await ca.body.text()).toBe(emu.caPem);
  });
});
