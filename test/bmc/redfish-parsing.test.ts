/**
 * The driver's pure decisions over recorded-shape payloads (DMTF schema, Dell iDRAC, HPE iLO 5):
 * vendor selection, task and job progress, settings failures, FC identity and boot targets, the
 * HPE UEFI iSCSI attempt plan, and which UEFI device path is the SAN device.
 */
import { describe, expect, it } from "vitest";
import { sanDevicePath } from "../../lib/bmc/redfish-boot-power";
import { chooseFcFunction, desiredBootTargets, fcBootPatch, fcClearPatch, fcIdentity, fcSnapshot, holdsFcBoot } from "../../lib/bmc/redfish-fc";
import { desiredIscsiBoot, diffIscsiBoot, iscsiSnapshot, restorePatch } from "../../lib/bmc/redfish-san-boot";
import { settingsFailures, taskProgress, writeTarget } from "../../lib/bmc/redfish-settings";
import type { NetworkDeviceFunction, SettingsAnnotation, TaskLike } from "../../lib/bmc/redfish-types";
import { contains } from "../../lib/bmc/redfish-writer";
import { selectVendor, vendorOfSetting } from "../../lib/bmc/vendor-select";
import { chooseNicSource, overrideHints, pendingIscsi, planClear, planIscsi, type HpeIscsi } from "../../lib/bmc/vendors/hpe-ilo";
import type { SanIscsiSpec } from "../../lib/bmc/driver";
import dellRoot from "./fixtures/service-root-dell.json";
import hpeRoot from "./fixtures/service-root-hpe.json";
import plainRoot from "./fixtures/service-root-plain.json";
import idrac from "./fixtures/manager-idrac.json";
import ilo from "./fixtures/manager-ilo5.json";
import jobScheduled from "./fixtures/dell-job-scheduled.json";
import jobFailed from "./fixtures/dell-job-failed.json";
import taskRunning from "./fixtures/task-running.json";
import taskException from "./fixtures/task-exception.json";
import fcFixture from "./fixtures/network-device-function-fc.json";
import failedFixture from "./fixtures/network-device-function-settings-failed.json";
import configured from "./fixtures/network-device-function-iscsi-configured.json";
import hpeIscsiFixture from "./fixtures/hpe-bios-iscsi.json";
import uefiOnly from "./fixtures/computer-system-uefi-target-only.json";

const fc = fcFixture as unknown as NetworkDeviceFunction;
const hpeIscsi = hpeIscsiFixture as unknown as HpeIscsi;

const spec: SanIscsiSpec = {
  initiator_name: "iqn.2026-11.org.example.sanboot:node-9",
  network: { mode: "dhcp" },
  targets: [
    { name: "iqn.2010-10.org.openstack:volume-9", address: "192.0.2.10", port: 3260, lun: 1 },
    { name: "iqn.2010-10.org.openstack:volume-9", address: "192.0.2.11", port: 3260, lun: 1 },
  ],
  auth: { method: "MutualCHAP", username: "init-user", secret: "init-secret-1", mutual_username: "tgt-user", mutual_secret: "tgt-secret-1" },
  boot_mode: "uefi",
};

describe("selectVendor", () => {
  it("reads Dell and HPE from the ServiceRoot's Vendor and Oem", () => {
    expect(selectVendor(dellRoot)).toBe("dell");
    expect(selectVendor(hpeRoot)).toBe("hpe");
    expect(selectVendor({ Oem: { Hpe: {} } })).toBe("hpe");
  });

  it("asks the Manager when the ServiceRoot names no vendor", () => {
    expect(selectVendor(plainRoot)).toBeUndefined();
    expect(selectVendor(plainRoot, idrac)).toBe("dell");
    expect(selectVendor(plainRoot, ilo)).toBe("hpe");
    expect(selectVendor(plainRoot, { Model: "OpenBMC" })).toBe("generic");
  });

  it("maps the node's bmc.driver setting, auto detecting", () => {
    expect(["redfish", "idrac", "ilo", "auto", undefined].map((s) => vendorOfSetting(s as never))).toEqual(["generic", "dell", "hpe", "auto", "auto"]);
  });
});

describe("taskProgress", () => {
  it("treats a Dell job Scheduled for OnReset as waiting for the reset", () => {
    expect(taskProgress(200, jobScheduled as TaskLike, "OnReset")).toEqual({ state: "scheduled" });
  });

  it("reports a failed Dell job with its MessageId", () => {
    expect(taskProgress(200, jobFailed as TaskLike, "OnReset")).toEqual({
      state: "failed",
      messages: [{ id: "SYS051", message: "Unable to apply the configuration: invalid attribute value." }],
    });
  });

  it("keeps polling a running task, and a 202 with no body", () => {
    expect(taskProgress(202, taskRunning as TaskLike, "Immediate")).toEqual({ state: "running" });
    expect(taskProgress(202, {}, undefined)).toEqual({ state: "running" });
    expect(taskProgress(200, {}, undefined)).toEqual({ state: "completed" });
  });

  it("fails a task in Exception with the Messages it carries", () => {
    const p = taskProgress(200, taskException as TaskLike, "Immediate");
    expect(p.state).toBe("failed");
    expect(p.state === "failed" && p.messages[0]!.id).toBe("Base.1.8.PropertyValueNotInList");
  });
});

describe("settings objects", () => {
  it("finds SettingsFailed among the Messages, ignoring Success", () => {
    const f = settingsFailures((failedFixture as { "@Redfish.Settings": SettingsAnnotation })["@Redfish.Settings"]);
    expect(f.map((m) => m.id)).toEqual(["Base.1.8.SettingsFailed"]);
  });

  it("writes the settings object with OnReset where offered", () => {
    expect(writeTarget(fc["@odata.id"], fc["@Redfish.Settings"])).toEqual({ uri: `${fc["@odata.id"]}/Settings`, applyTime: "OnReset", deferred: true });
  });

  it("judges applied when the resource holds the settings object, {} in arrays leaving elements alone", () => {
    expect(contains({ a: 1, b: { c: "x", d: null }, e: [1, 2] }, { b: { c: "x", d: null }, e: [{}, 2], "@odata.id": "/s" })).toBe(true);
    expect(contains({ a: 1 }, { a: 2 })).toBe(false);
  });
});

describe("Fibre Channel", () => {
  it("reads the identity without a MAC, in Cinder's WWN form", () => {
    expect(fcIdentity(fc)).toMatchObject({
      id: "FC.Slot.2-1",
      wwpn: "21000024ff8a7b10",
      wwnn: "20000024ff8a7b10",
      permanent_wwpn: "21000024ff8a7b10",
      wwn_source: "ConfiguredLocally",
    });
  });

  it("treats all-zero boot target slots as empty", () => {
    expect(holdsFcBoot(fc)).toBe(false);
    expect(fcSnapshot(fc)).toEqual({ kind: "fibre_channel", function_uri: fc["@odata.id"], boot_mode: "Disabled", boot_targets: [] });
  });

  it("picks the port by WWPN in any notation", () => {
    expect(chooseFcFunction([fc], "21-00-00-24-ff-8a-7b-10")).toEqual({ ok: true, fn: fc });
    expect(chooseFcFunction([fc], "0x2100000000000000").ok).toBe(false);
  });

  it("writes two targets with string LUNIDs and BootMode, then nothing once held", () => {
    const targets = [{ wwpn: "500a098288e2b9b1", lun: 3 }, { wwpn: "50:0a:09:82:98:e2:b9:b1", lun: "3" }];
    const plan = fcBootPatch(fc, { targets });
    expect(plan).toEqual({
      ok: true,
      body: {
        BootMode: "FibreChannel",
        FibreChannel: {
          BootTargets: [
            { WWPN: "50:0A:09:82:88:E2:B9:B1", LUNID: "3", BootPriority: 0 },
            { WWPN: "50:0A:09:82:98:E2:B9:B1", LUNID: "3", BootPriority: 1 },
          ],
        },
      },
    });
    const held = { ...fc, BootMode: "FibreChannel", FibreChannel: { ...fc.FibreChannel, BootTargets: (plan.ok && (plan.body!.FibreChannel as { BootTargets: [] }).BootTargets) || [] } };
    expect(fcBootPatch(held, { targets })).toEqual({ ok: true, body: null });
    expect(fcClearPatch(held)).toEqual({ FibreChannel: { BootTargets: [] }, BootMode: "Disabled" });
    expect(fcClearPatch(held, fcSnapshot(fc) as never)).toEqual({ FibreChannel: { BootTargets: [] }, BootMode: "Disabled" });
  });

  it("refuses duplicate priorities and non-WWPNs", () => {
    expect(desiredBootTargets({ targets: [{ wwpn: "500a098288e2b9b1", lun: 0, priority: 0 }, { wwpn: "500a098298e2b9b1", lun: 0, priority: 0 }] }).ok).toBe(false);
    expect(desiredBootTargets({ targets: [{ wwpn: "not-a-wwpn", lun: 0 }] }).ok).toBe(false);
  });
});

describe("iSCSI: MutualCHAP, multipath, snapshots", () => {
  it("writes both CHAP pairs for MutualCHAP and the second path", () => {
    expect(desiredIscsiBoot(spec)).toMatchObject({
      AuthenticationMethod: "MutualCHAP",
      CHAPUsername: "init-user",
      CHAPSecret: "init-secret-1",
      MutualCHAPUsername: "tgt-user",
      MutualCHAPSecret: "tgt-secret-1",
      IPMaskDNSViaDHCP: true,
      TargetInfoViaDHCP: false,
      SecondaryTargetIPAddress: "192.0.2.11",
      SecondaryLUN: 1,
    });
  });

  it("blanks the mutual secret when leaving MutualCHAP", () => {
    const current = { ...desiredIscsiBoot(spec), CHAPSecret: null, MutualCHAPSecret: null };
    const patch = diffIscsiBoot(current, desiredIscsiBoot({ ...spec, auth: { method: "CHAP", username: "init-user", secret: "init-secret-1" } }), true);
    expect(patch).toMatchObject({ AuthenticationMethod: "CHAP", MutualCHAPUsername: null, MutualCHAPSecret: null, CHAPSecret: "init-secret-1" });
  });

  it("snapshots only readable values and restores them with our secrets blanked", () => {
    const before = configured as unknown as NetworkDeviceFunction;
    const snap = iscsiSnapshot(before);
    expect(JSON.stringify(snap)).not.toContain("CHAPSecret");
    const ours = { ...before, iSCSIBoot: { ...before.iSCSIBoot, PrimaryTargetName: "iqn.x:ours", PrimaryLUN: 4 } };
    expect(restorePatch(ours, snap as never)).toEqual({
      iSCSIBoot: { PrimaryTargetName: before.iSCSIBoot!.PrimaryTargetName, PrimaryLUN: 0, CHAPSecret: null, MutualCHAPSecret: null },
    });
    expect(restorePatch(before, snap as never)).toBeNull();
  });
});

describe("HPE UEFI iSCSI attempts", () => {
  const uri = "/redfish/v1/systems/1/bios/iscsi/";

  it("leaves the operator's attempt alone and takes free ones, sending {} for the rest", () => {
    const plan = planIscsi(uri, hpeIscsi, spec, "NicBoot2", () => false);
    if ("missing" in plan) throw new Error(plan.missing);
    expect(plan.placed).toEqual([1, 2]);
    const sources = (plan.body!.iSCSISources as Array<Record<string, unknown>>);
    expect(sources[0]).toEqual({});
    expect(sources[1]).toMatchObject({ iSCSIAttemptName: "sanboot-1", iSCSINicSource: "NicBoot2", iSCSITargetIpAddress: "192.0.2.10", iSCSILUN: "1", iSCSIChapType: "Mutual", iSCSIReverseChapSecret: "tgt-secret-1" });
    expect(sources[2]).toMatchObject({ iSCSIAttemptName: "sanboot-2", iSCSITargetIpAddress: "192.0.2.11" });
    expect(plan.body!.iSCSIInitiatorName).toBe(spec.initiator_name);
    expect(plan.previous).toMatchObject({ kind: "hpe_bios_iscsi", initiator_name: "iqn.1986-03.com.hpe:uefi-p89-mxq91204kz" });
  });

  it("sends nothing once the pending settings hold our attempts and the secrets are vouched for", () => {
    const first = planIscsi(uri, hpeIscsi, spec, "NicBoot2", () => false);
    if ("missing" in first) throw new Error(first.missing);
    const view = pendingIscsi(hpeIscsi, first.body as HpeIscsi);
    const again = planIscsi(uri, view, spec, "NicBoot2", () => true);
    expect("missing" in again ? again : again.body).toBeNull();
    expect(overrideHints(view)).toContain("iqn.2010-10.org.openstack:volume-9");
    expect(planClear(view)).toMatchObject({ iSCSISources: [{}, { iSCSIConnection: "Disabled", iSCSITargetName: null }, { iSCSIConnection: "Disabled" }] });
  });

  it("maps the MAC to the NIC source by port order", () => {
    expect(chooseNicSource(["NicBoot1", "NicBoot2"], ["aa", "bb"], "bb")).toBe("NicBoot2");
    expect(chooseNicSource(["NicBoot1", "NicBoot2"], ["aa", "bb"], undefined)).toBe("NicBoot1");
    expect(chooseNicSource([], ["aa"], undefined)).toBeUndefined();
  });
});

describe("sanDevicePath", () => {
  const paths = (uefiOnly as { Boot: { "UefiTargetBootSourceOverride@Redfish.AllowableValues": string[] } }).Boot["UefiTargetBootSourceOverride@Redfish.AllowableValues"];

  it("takes the path that names the configured target, not any iSCSI path", () => {
    expect(sanDevicePath(paths, ["iqn.2010-10.org.openstack:volume-1"])).toMatch(/iSCSI\(iqn\.2010-10\.org\.openstack:volume-1,/);
    expect(sanDevicePath(paths, ["iqn.2010-10.org.openstack:volume-2"])).toBeUndefined();
  });

  it("matches an FC target WWPN inside a FibreEx node", () => {
    expect(sanDevicePath(["PciRoot(0x0)/Pci(0x3,0x0)/FibreEx(0x500A098288E2B9B1,0x0000000000000003)"], ["500a098288e2b9b1"])).toBeDefined();
  });
});
