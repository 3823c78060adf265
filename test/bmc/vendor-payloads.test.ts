/**
 * The parsers against payloads the vendors publish (fixtures/vendors/<vendor>/*.json, each naming
 * its source in "_source"): what sanboot reads from a Dell iDRAC, an HPE iLO, a Lenovo XCC and a
 * DMTF Job as those vendors render them, blanks and spellings included.
 */
import { describe, expect, it } from "vitest";
import { claimFor, differing, patchBody, type JsonValue } from "../../lib/bmc/claims";
import type { SanIscsiSpec } from "../../lib/bmc/driver";
import { chooseSanOverride, sanDevicePath, type BootOptionEntry } from "../../lib/bmc/redfish-boot-power";
import { fcIdentity, isTargetWwpn, wantedFc } from "../../lib/bmc/redfish-fc";
import { chooseIscsiFunction, wantedIscsi } from "../../lib/bmc/redfish-san-boot";
import { appliedSince, settingsFailures, settingsMark, taskProgress, writeTarget } from "../../lib/bmc/redfish-settings";
import { extendedInfo } from "../../lib/bmc/redfish-transport";
import type { BootProperties, NetworkDeviceFunction, ServiceRoot, SettingsAnnotation, TaskLike } from "../../lib/bmc/redfish-types";
import { contains } from "../../lib/bmc/redfish-writer";
import { connection } from "../../lib/bmc/vendors/dell/bios-iscsi";
import { dellIdrac } from "../../lib/bmc/vendors/dell/idrac";
import { jobOfLocation, jobsCollection, jobWaiting, lcReadiness } from "../../lib/bmc/vendors/dell/jobs";
import { biosLinkOf, instancesFor, pendingIscsi, placeAttempts, planIscsi, type HpeIscsi } from "../../lib/bmc/vendors/hpe/attempts";
import { nicSourceOfPath } from "../../lib/bmc/vendors/hpe/bios-iscsi";
import { HPE_ILO } from "../../lib/bmc/vendors/hpe/ilo";
import { LENOVO_XCC } from "../../lib/bmc/vendors/lenovo/xcc";
import { selectVendor } from "../../lib/bmc/vendors/select";
import dellBiosAttrs from "./fixtures/vendors/dell/bios-iscsi-attributes.json";
import dellBoot from "./fixtures/vendors/dell/boot-options.json";
import dellSystem9 from "./fixtures/vendors/dell/computer-system-idrac9.json";
import dellSystem10 from "./fixtures/vendors/dell/computer-system-idrac10.json";
import dellPendingCommitted from "./fixtures/vendors/dell/error-pending-committed.json";
import dellJobBios from "./fixtures/vendors/dell/job-bios-completed.json";
import dellJobFailed from "./fixtures/vendors/dell/job-failed-oem.json";
import dellJobNic from "./fixtures/vendors/dell/job-nic-scheduled.json";
import dellLc from "./fixtures/vendors/dell/lc-status.json";
import dellFcFixture from "./fixtures/vendors/dell/network-device-function-fc.json";
import dellIscsiFixture from "./fixtures/vendors/dell/network-device-function-iscsi.json";
import dmtfJob from "./fixtures/vendors/dmtf/job-running.json";
import hpeMappings from "./fixtures/vendors/hpe/bios-mappings.json";
import hpeBios from "./fixtures/vendors/hpe/bios.json";
import hpeIface from "./fixtures/vendors/hpe/ethernet-interface.json";
import hpeIscsiFixture from "./fixtures/vendors/hpe/iscsi-current.json";
import hpeIscsiSettingsFixture from "./fixtures/vendors/hpe/iscsi-settings.json";
import hpeFcFixture from "./fixtures/vendors/hpe/network-device-function-fc.json";
import hpeRoot from "./fixtures/vendors/hpe/service-root.json";
import hpeResetRequired from "./fixtures/vendors/hpe/system-reset-required.json";
import xccPending from "./fixtures/vendors/lenovo/ndf-pending.json";

const dellIscsi = dellIscsiFixture as unknown as NetworkDeviceFunction;
const dellFc = dellFcFixture as unknown as NetworkDeviceFunction;
const hpeFc = hpeFcFixture as unknown as NetworkDeviceFunction;
const hpeIscsi = hpeIscsiFixture as unknown as HpeIscsi & Record<string, unknown>;
const hpeIscsiSettings = hpeIscsiSettingsFixture as unknown as HpeIscsi;
const DELL = dellIdrac(undefined);

const TARGET = { name: "iqn.2010-10.org.openstack:volume-7", address: "192.0.2.10", port: 3260, lun: 1 };
const spec = (over: Partial<SanIscsiSpec> = {}): SanIscsiSpec => ({
  initiator_name: "iqn.2026-11.org.example.sanboot:node-7",
  network: { mode: "static", address: "192.0.2.50", netmask: "255.255.255.0", gateway: "192.0.2.1" },
  targets: [TARGET],
  auth: { method: "CHAP", username: "node-7", secret: "chap-secret-7" },
  boot_mode: "uefi",
  ...over,
});

const nullPaths = (values: Record<string, JsonValue>) => Object.entries(values).filter(([, v]) => v === null).map(([p]) => p);

describe("vendor selection from published service roots", () => {
  it("takes an iLO 5 root with no Vendor property for HPE by its Oem.Hpe", () => {
    expect((hpeRoot as ServiceRoot).Vendor).toBeUndefined();
    expect(selectVendor(hpeRoot as ServiceRoot)).toBe("hpe");
  });
});

describe("Dell iDRAC jobs, per generation", () => {
  it("reads a scheduled NICConfiguration job (JCP001) as waiting for the reset, and as a job to withdraw", () => {
    expect(taskProgress(200, dellJobNic as TaskLike, "OnReset")).toEqual({ state: "scheduled" });
    expect(jobWaiting(dellJobNic)).toBe(true);
  });

  it("reads a completed BIOSConfiguration job (PR19) as done: nothing left to withdraw", () => {
    expect(taskProgress(200, dellJobBios as TaskLike, "OnReset")).toEqual({ state: "completed" });
    expect(jobWaiting(dellJobBios)).toBe(false);
  });

  it("reports a failed job read at Oem/Dell/Jobs with Dell's MessageId and Message", () => {
    expect(taskProgress(200, dellJobFailed as TaskLike, "OnReset")).toEqual({
      state: "failed",
      messages: [{ id: "RED106", message: "Unable to parse the lc_validator_output.xml file because of an internal error." }],
    });
    expect(jobWaiting(dellJobFailed)).toBe(false);
  });

  it("follows the job at Oem/Dell/Jobs behind an iDRAC10 TaskMonitor, and an iDRAC9 job where Location names it", () => {
    const id = dellJobBios.Id;
    expect(jobOfLocation(10, `/redfish/v1/TaskService/TaskMonitors/${id}`)).toBe(`/redfish/v1/Managers/iDRAC.Embedded.1/Oem/Dell/Jobs/${id}`);
    expect(jobOfLocation(9, `/redfish/v1/Managers/iDRAC.Embedded.1/Jobs/${id}`)).toBe(`/redfish/v1/Managers/iDRAC.Embedded.1/Jobs/${id}`);
    // the failed job's own URI is where iDRAC10 keeps its jobs
    expect(dellJobFailed["@odata.id"].startsWith(`${jobsCollection(10)}/`)).toBe(true);
    expect(jobsCollection(9)).toBe("/redfish/v1/Managers/iDRAC.Embedded.1/Jobs");
  });

  it("reads a job seen through iDRAC10's TaskService by its Oem.Dell JobState", () => {
    const task = { "@odata.type": "#Task.v1_7_0.Task", TaskState: "Running", Oem: { Dell: { JobState: dellJobNic.JobState } } };
    expect(jobWaiting(task)).toBe(true);
    expect(taskProgress(200, task as TaskLike, "OnReset")).toEqual({ state: "scheduled" });
  });
});

describe("Dell Lifecycle Controller readiness", () => {
  it("goes ahead on LCStatus Ready and waits on anything else, saying what it read", () => {
    expect(lcReadiness(dellLc.ready)).toEqual({ ready: true, detail: "LCStatus Ready" });
    const waiting = lcReadiness(dellLc.notReady);
    expect(waiting.ready).toBe(false);
    expect(waiting.detail).toContain("Not Initialized");
    expect(lcReadiness({}).ready).toBe(false);
  });
});

describe("Dell's refusal while a configuration job is pending", () => {
  it("reads the 400's MessageId, message and the attribute it names", () => {
    expect(extendedInfo(dellPendingCommitted)).toEqual([
      {
        id: "IDRAC.2.14.SYS011",
        message: "Pending configuration values are already committed, unable to perform another set operation.",
        property: "#/Attributes/HttpDev1EnDis",
      },
    ]);
  });
});

describe("Dell BootOptions → UEFI device path", () => {
  const options: BootOptionEntry[] = dellBoot.BootOptions.Members.map((o) => ({ ref: o.BootOptionReference, path: o.UefiDevicePath }));
  const boot = dellSystem9.Boot as BootProperties;

  it("finds no SAN device among Dell's disk boot options, nor in its VenHw PXE path", () => {
    expect(sanDevicePath(options.map((o) => o.path))).toBeUndefined();
    expect(sanDevicePath([...options.map((o) => o.path), dellBoot.pxeUefiTarget], [TARGET.name])).toBeUndefined();
    expect(chooseSanOverride(boot, "uefi", [TARGET.name], "once", options)).toMatchObject({ kind: "missing" });
  });

  it("names the SAN boot option by UefiTarget (iDRAC lists no UefiBootNext, no RemoteDrive) and does not resend the UEFI mode it already reports", () => {
    const san = { ref: "Boot0007", path: `PciRoot(0x0)/Pci(0x1C,0x5)/Pci(0x0,0x0)/MAC(E4434B17E0A8,0x1)/IPv4(192.0.2.50)/iSCSI(${TARGET.name},0x1,0x1,None,None,None,TCP)` };
    const decision = chooseSanOverride(boot, "uefi", [TARGET.name], "once", [...options, san]);
    expect(decision).toEqual({
      kind: "patch",
      body: { Boot: { BootSourceOverrideTarget: "UefiTarget", UefiTargetBootSourceOverride: san.path, BootSourceOverrideEnabled: "Once" } },
    });
  });

  it("writes an iDRAC10 system's Boot through its own settings object, OnReset", () => {
    expect(writeTarget(dellSystem10["@odata.id"], dellSystem10["@Redfish.Settings"] as SettingsAnnotation)).toEqual({
      uri: "/redfish/v1/Systems/System.Embedded.1/Settings",
      applyTime: "OnReset",
      deferred: true,
    });
    expect(writeTarget(dellSystem9["@odata.id"], undefined)).toEqual({ uri: dellSystem9["@odata.id"], applyTime: undefined, deferred: false });
  });
});

describe("Dell NIC function iSCSIBoot as iDRAC renders it", () => {
  it("writes the settings object OnReset of the apply times Dell offers", () => {
    expect(writeTarget(dellIscsi["@odata.id"], dellIscsi["@Redfish.Settings"])).toMatchObject({ uri: `${dellIscsi["@odata.id"]}/Settings`, applyTime: "OnReset" });
  });

  it("does not take a function holding another target unless named by MAC", () => {
    expect(chooseIscsiFunction([dellIscsi]).ok).toBe(false);
    expect(chooseIscsiFunction([dellIscsi], "e4-43-4b-17-e0-a8")).toEqual({ ok: true, fn: dellIscsi });
  });

  it("blanks someone's second path the way iDRAC renders blanks, never with null, and turns their VLAN off", () => {
    const w = wantedIscsi(spec(), dellIscsi, DELL.blank);
    const changes = differing(dellIscsi, w.values);
    expect(changes).toMatchObject({
      "iSCSIBoot.SecondaryTargetName": "",
      "iSCSIBoot.PrimaryVLANEnable": false,
      "iSCSIBoot.PrimaryTargetName": TARGET.name,
      "iSCSIBoot.PrimaryLUN": 1,
    });
    // the unset "0.0.0.0" address is already blank; the port is already 3260
    expect(changes).not.toHaveProperty("iSCSIBoot.SecondaryTargetIPAddress");
    expect(changes).not.toHaveProperty("iSCSIBoot.PrimaryTargetTCPPort");
    expect(nullPaths(changes)).toEqual([]);
    // a LUN goes as the number iDRAC renders
    expect(typeof changes["iSCSIBoot.PrimaryLUN"]).toBe(typeof dellIscsi.iSCSIBoot!.PrimaryLUN);
  });
});

describe("Dell HBA fixed boot target slots", () => {
  it("reads the port's identity in Cinder's WWN form, and all-zero slots as no targets", () => {
    expect(fcIdentity(dellFc)).toMatchObject({ id: "FC.Slot.1-2", wwpn: "2100f4e9d45610bf", wwnn: "2000f4e9d45610bf", wwn_source: "ProvidedByFabric" });
    expect(dellFc.FibreChannel!.BootTargets!.map((t) => isTargetWwpn(t.WWPN))).toEqual([false, false]);
    expect(differing(dellFc, { "FibreChannel.BootTargets": [] })).toEqual({});
  });

  it("sends the whole slot array, ours first, the rest back to the zero WWPN; more targets than slots is refused", () => {
    const one = wantedFc(dellFc, { targets: [{ wwpn: "500a098288e2b9b1", lun: 3 }] }, false);
    if (!one.ok) throw new Error(one.reason);
    const taken = DELL.fcValues(dellFc, one.values);
    expect(taken).toEqual({
      ok: true,
      value: {
        BootMode: "FibreChannel",
        "FibreChannel.BootTargets": [
          { WWPN: "50:0A:09:82:88:E2:B9:B1", LUNID: "3", BootPriority: 0 },
          { WWPN: "00:00:00:00:00:00:00:00", LUNID: "0", BootPriority: 1 },
        ],
      },
    });
    const three = wantedFc(dellFc, { targets: ["500a098288e2b9b1", "500a098298e2b9b1", "500a0982a8e2b9b1"].map((wwpn) => ({ wwpn, lun: 0 })) }, false);
    if (!three.ok) throw new Error(three.reason);
    expect(DELL.fcValues(dellFc, three.values)).toEqual({ ok: false, reason: "the HBA has 2 boot target slots, 3 targets asked" });
  });
});

describe("Dell BIOS iSCSI attributes (UEFI mode)", () => {
  const attrs = dellBiosAttrs.Attributes as Record<string, unknown>;

  it("writes each IscsiDev1Con1 attribute with the type the BIOS renders it in (LUN a string, port an integer)", () => {
    const values = connection(1, spec(), "NIC.Embedded.1-1-1");
    for (const [path, v] of Object.entries(values)) {
      const name = path.slice("Attributes.".length);
      expect(name in attrs, `${name} is a BIOS attribute`).toBe(true);
      expect(typeof v, name).toBe(typeof attrs[name]);
    }
    expect(values).toMatchObject({ "Attributes.IscsiDev1Con1Lun": "1", "Attributes.IscsiDev1Con1Port": 3260, "Attributes.IscsiDev1Con1Auth": "Chap", "Attributes.IscsiDev1Con1ChapType": "OneWay" });
  });

  it("leaves what the BIOS already holds: the interface, the protocol, the port", () => {
    const changes = differing(dellBiosAttrs, connection(1, spec(), "NIC.Embedded.1-1-1"));
    expect(changes).not.toHaveProperty("Attributes.IscsiDev1Con1Interface");
    expect(changes).not.toHaveProperty("Attributes.IscsiDev1Con1Protocol");
    expect(changes).not.toHaveProperty("Attributes.IscsiDev1Con1Port");
    expect(changes).toMatchObject({ "Attributes.IscsiDev1Con1EnDis": "Enabled", "Attributes.IscsiDev1Con1TargetIp": TARGET.address });
  });
});

describe("HPE UEFI iSCSI attempts as iLO renders them", () => {
  it("treats every blank attempt (instance 0) as free and numbers ours 1..N", () => {
    const placed = placeAttempts(hpeIscsi, 2)!;
    expect(placed).toEqual([0, 1]);
    expect(instancesFor(hpeIscsi, placed)).toEqual([1, 2]);
  });

  it("takes an attempt whose instance is 0 even where it still names a target: the BIOS ignores it", () => {
    const stale = { ...hpeIscsi.iSCSISources![0]!, iSCSITargetName: "iqn.ops:old", iSCSIAttemptName: "old" };
    const view: HpeIscsi = { ...hpeIscsi, iSCSISources: [stale, ...hpeIscsi.iSCSISources!.slice(1)] };
    expect(placeAttempts(view, 1)).toEqual([0]);
  });

  it("writes only what differs from the blank, in iLO's spelling and types: CHAP upper case, LUN a SAM-2 string, no null", () => {
    const plan = planIscsi(hpeIscsi, spec({ targets: [{ ...TARGET, lun: 12345 }] }), "NicBoot2", [0], false);
    expect(plan.values).toMatchObject({
      "iSCSISources.0.iSCSIAttemptInstance": 1,
      "iSCSISources.0.iSCSINicSource": "NicBoot2",
      "iSCSISources.0.iSCSIConnection": "Enabled",
      "iSCSISources.0.iSCSIAuthenticationMethod": "CHAP",
      "iSCSISources.0.iSCSILUN": "1234-5",
      "iSCSISources.0.iSCSITargetInfoViaDHCP": false,
      "iSCSISources.0.iSCSIInitiatorInfoViaDHCP": false,
      iSCSIInitiatorName: "iqn.2026-11.org.example.sanboot:node-7",
    });
    expect(plan.values).not.toHaveProperty("iSCSISources.0.iSCSITargetTcpPort");
    expect(plan.values).not.toHaveProperty("iSCSISources.0.iSCSIIpAddressType");
    expect(nullPaths(plan.values)).toEqual([]);
    const body = patchBody({ ...plan.values, ...plan.secrets }) as { iSCSISources: unknown[] };
    expect(body.iSCSISources).toHaveLength(1);
  });

  it("reads a SAM-2 LUN back as the number it stands for: nothing to rewrite", () => {
    const held = { ...hpeIscsi.iSCSISources![0]!, iSCSILUN: "1234-5" };
    const view: HpeIscsi = { ...hpeIscsi, iSCSISources: [held, ...hpeIscsi.iSCSISources!.slice(1)] };
    const plan = planIscsi(view, spec({ targets: [{ ...TARGET, lun: 12345 }] }), "NicBoot2", [0], false);
    expect(plan.values).not.toHaveProperty("iSCSISources.0.iSCSILUN");
  });

  it("does not let a full-copy settings object mask what the BIOS filled in (UEFIDevicePath is read-only)", () => {
    const path = `PciRoot(0x2)/Pci(0x0,0x0)/Pci(0x0,0x3)/MAC(B49691DA5AEF,0x1)/IPv4(192.0.2.50)/iSCSI(${TARGET.name},0x1,0x1,None,None,None,TCP)`;
    const configured = { ...hpeIscsi.iSCSISources![0]!, iSCSIAttemptInstance: 1, iSCSITargetName: TARGET.name, iSCSIConnection: "Enabled", UEFIDevicePath: path, StructuredBootString: "NIC.FlexLOM.1.4.iSCSI" };
    const current: HpeIscsi = { ...hpeIscsi, iSCSISources: [configured, ...hpeIscsi.iSCSISources!.slice(1)] };
    // iLO's settings object copies every attempt, its read-only fields null
    const copy: HpeIscsi = { ...hpeIscsiSettings, iSCSIInitiatorName: current.iSCSIInitiatorName, iSCSISources: current.iSCSISources!.map((a) => ({ ...a, UEFIDevicePath: null, StructuredBootString: null })) };
    const will = pendingIscsi(current, copy);
    expect(will.iSCSISources![0]!.UEFIDevicePath).toBe(path);
    expect(contains(current, will)).toBe(true);
  });
});

describe("HPE: MAC → iSCSINicSource through the BIOS mappings", () => {
  const sources = hpeIscsiSettings.iSCSINicSources!;

  it("maps the port's UEFI device path to the NicBoot the mappings associate with it, not by position", () => {
    expect(nicSourceOfPath(hpeMappings, hpeIface.UefiDevicePath, sources)).toBe("NicBoot2");
    expect(nicSourceOfPath(hpeMappings, "PciRoot(0x2)/Pci(0x0,0x0)/Pci(0x0,0x2)", sources)).toBe("NicBoot1");
  });

  it("names no source for the adapter itself, an unmapped port, or a source the initiator does not list", () => {
    expect(nicSourceOfPath(hpeMappings, "PciRoot(0x2)/Pci(0x0,0x0)/Pci(0x0,0x0)", sources)).toBeUndefined();
    expect(nicSourceOfPath(hpeMappings, "PciRoot(0x1)/Pci(0x2,0x0)/Pci(0x0,0x0)", sources)).toBeUndefined();
    expect(nicSourceOfPath(hpeMappings, hpeIface.UefiDevicePath, ["NicBoot1"])).toBeUndefined();
  });

  it("finds the initiator and the mappings through the Bios resource's Oem.Hpe.Links", () => {
    expect(biosLinkOf(hpeBios, "iScsi")).toBe("/redfish/v1/systems/1/bios/iscsi/");
    expect(biosLinkOf(hpeBios, "Mappings")).toBe("/redfish/v1/systems/1/bios/mappings/");
  });
});

describe("settings applied, judged by @Redfish.Settings Time / ETag", () => {
  it("reads iLO's blank Time and ETag (\"\") as saying nothing, so the settings object decides", () => {
    expect(settingsMark(hpeIscsi)).toBeUndefined();
    expect(appliedSince(hpeIscsi, undefined)).toBeUndefined();
  });

  it("reads an applied BIOS mark, unchanged until the next apply moves it", () => {
    const mark = settingsMark(hpeBios);
    expect(mark).toEqual({ time: "2017-06-10T07:40:44+00:00", etag: "C4690603" });
    expect(appliedSince(hpeBios, mark)).toBe(false);
    const later = { ...hpeBios, "@Redfish.Settings": { ...hpeBios["@Redfish.Settings"], Time: "2017-06-10T08:02:10+00:00", ETag: "D01F22A1" } };
    expect(appliedSince(later, mark)).toBe(true);
  });

  it("reports the property the last BIOS apply did not take, ignoring Success", () => {
    expect(settingsFailures(hpeBios["@Redfish.Settings"] as SettingsAnnotation).map((m) => m.id)).toEqual(["Base.1.0.PropertyNotWritable"]);
  });

  it("a refusal naming only an attribute another write staged is not a failure of ours", () => {
    const settings = hpeBios["@Redfish.Settings"] as SettingsAnnotation;
    expect(settingsFailures(settings, ["Attributes.NicBoot2"])).toEqual([]);
    expect(settingsFailures(settings, ["Attributes.NumaGroupSizeOpt"]).map((m) => m.id)).toEqual(["Base.1.0.PropertyNotWritable"]);
    // a failure that names no property is counted whoever wrote what
    expect(settingsFailures({ Messages: [{ MessageId: "Base.1.8.SettingsFailed" }] }, ["Attributes.NicBoot2"]).map((m) => m.id)).toEqual(["Base.1.8.SettingsFailed"]);
  });

  it("does not read iLO's 200 SystemResetRequired answer as a failure", () => {
    expect(extendedInfo(hpeResetRequired).map((m) => m.id)).toEqual(["iLO.2.14.SystemResetRequired"]);
    expect(settingsFailures({ Messages: hpeResetRequired.error["@Message.ExtendedInfo"] })).toEqual([]);
  });
});

describe("HPE Fibre Channel through a NetworkDeviceFunction", () => {
  it("switches BootTargetSource from UEFI to NetworkDeviceFunction, and the claim keeps UEFI to put back", () => {
    const wanted = wantedFc(hpeFc, { targets: [{ wwpn: "500a098288e2b9b1", lun: 0 }] }, false);
    if (!wanted.ok) throw new Error(wanted.reason);
    const taken = HPE_ILO.fcValues(hpeFc, wanted.values);
    if (!taken.ok) throw new Error(taken.reason);
    expect(taken.value["Oem.Hpe.BootTargetSource"]).toBe("NetworkDeviceFunction");
    const claim = claimFor("nic_fc", hpeFc["@odata.id"], hpeFc, differing(hpeFc, taken.value), [], ["FibreChannel.BootTargets"]);
    expect(claim.before["Oem.Hpe.BootTargetSource"]).toBe("UEFI");
  });

  it("adds nothing on a function that has no BootTargetSource", () => {
    const { Oem: _oem, ...plain } = hpeFcFixture;
    const taken = HPE_ILO.fcValues(plain as unknown as NetworkDeviceFunction, { BootMode: "FibreChannel" });
    expect(taken).toEqual({ ok: true, value: { BootMode: "FibreChannel" } });
  });
});

describe("Lenovo XCC: the documented /Pending subset", () => {
  const documented = xccPending.iSCSIBoot as Record<string, string>;
  const jsonType = (v: unknown) => (typeof v === "number" ? "Number" : typeof v === "boolean" ? "Boolean" : "String");

  it("writes a function's iSCSIBoot at {function}/Pending", () => {
    const fn = "/redfish/v1/Chassis/1/NetworkAdapters/slot-1/NetworkDeviceFunctions/1.1";
    expect(LENOVO_XCC.functionTarget(fn, { "@odata.id": fn })).toEqual({ uri: `${fn}/Pending`, applyTime: undefined, deferred: true });
  });

  it.each([["CHAP", spec()], ["MutualCHAP", spec({ auth: { method: "MutualCHAP", username: "node-7", secret: "s1", mutual_username: "tgt-7", mutual_secret: "s2" } })]])(
    "sends only documented fields, each of the documented JSON type (%s)",
    (_name, s) => {
      const w = wantedIscsi(s, { "@odata.id": "/f" }, LENOVO_XCC.blank);
      const taken = LENOVO_XCC.iscsiValues(w.values);
      if (!taken.ok) throw new Error(taken.reason);
      const sent = { ...taken.value, ...w.secrets };
      expect(Object.keys(sent).length).toBeGreaterThan(0);
      for (const [path, v] of Object.entries(sent)) {
        const field = path.replace(/^iSCSIBoot\./, "");
        expect(documented, path).toHaveProperty(field);
        expect(jsonType(v), path).toBe(documented[field]);
      }
    },
  );

  it("refuses what the documented subset cannot hold (a second path), naming it", () => {
    const w = wantedIscsi(spec({ targets: [TARGET, { ...TARGET, address: "192.0.2.11" }] }), { "@odata.id": "/f" }, LENOVO_XCC.blank);
    const taken = LENOVO_XCC.iscsiValues(w.values);
    expect(taken.ok).toBe(false);
    expect(!taken.ok && taken.reason).toContain("second iSCSI path");
  });
});

describe("DMTF Job states", () => {
  it("keeps polling a running Job", () => {
    expect(taskProgress(200, dmtfJob as TaskLike, undefined)).toEqual({ state: "running" });
  });

  it("reads a Job that completed with JobStatus Critical as failed, with its messages", () => {
    const failedJob = { ...dmtfJob, JobState: "Completed", JobStatus: "Critical", PercentComplete: 100 };
    expect(taskProgress(200, failedJob as TaskLike, undefined)).toEqual({ state: "failed", messages: [{ id: "SYS053", message: dmtfJob.Messages[0]!.Message }] });
    expect(taskProgress(200, { ...failedJob, JobStatus: "OK" } as TaskLike, undefined)).toEqual({ state: "completed" });
  });
});
