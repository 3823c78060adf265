/**
 * The driver's pure decisions over recorded-shape payloads (DMTF schema, Dell iDRAC, HPE iLO 5):
 * vendor selection, task and job progress, settings failures, FC identity and boot targets, the
 * HPE UEFI iSCSI attempt plan, and which UEFI device path is the SAN device.
 */
import { describe, expect, it } from "vitest";
import { sanDevicePath } from "../../lib/bmc/redfish-boot-power";
import { claimFor, differing, patchBody, restoreValues, stillOurs } from "../../lib/bmc/claims";
import { canBecomeFc, chooseFcFunction, desiredBootTargets, FC_IDENTITY, fcIdentity, wantedFc } from "../../lib/bmc/redfish-fc";
import { wantedIscsi } from "../../lib/bmc/redfish-san-boot";
import { overlay } from "../../lib/bmc/redfish-places";
import { settingsFailures, taskProgress, writeTarget } from "../../lib/bmc/redfish-settings";
import type { NetworkDeviceFunction, SettingsAnnotation, TaskLike } from "../../lib/bmc/redfish-types";
import { contains } from "../../lib/bmc/redfish-writer";
import { selectVendor, vendorOfSetting } from "../../lib/bmc/vendors/select";
import { claimedAttempts, instancesFor, overrideHints, pendingIscsi, placeAttempts, planIscsi, sam2Lun, type HpeIscsi } from "../../lib/bmc/vendors/hpe/attempts";
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

  it("treats all-zero boot target slots as no targets", () => {
    expect(differing(fc, { "FibreChannel.BootTargets": [] })).toEqual({});
  });

  it("picks the port by WWPN in any notation, and only an FC-typed one", () => {
    expect(chooseFcFunction([fc], "21-00-00-24-ff-8a-7b-10")).toEqual({ ok: true, fn: fc, switchType: false });
    expect(chooseFcFunction([fc], "0x2100000000000000").ok).toBe(false);
    const converged = { ...fc, NetDevFuncType: "Ethernet", NetDevFuncCapabilities: ["Ethernet", "FibreChannel"] };
    expect(chooseFcFunction([converged]).ok).toBe(false);
    expect(chooseFcFunction([converged], "21000024ff8a7b10").ok).toBe(false);
    // switched only where the BMC lists FibreChannel among the personalities it takes
    const switchable = { ...converged, "NetDevFuncType@Redfish.AllowableValues": ["Ethernet", "FibreChannel"] };
    expect(canBecomeFc(switchable)).toBe(true);
    expect(chooseFcFunction([switchable], "21000024ff8a7b10")).toMatchObject({ ok: true, switchType: true });
    expect(wantedFc(switchable, { targets: [{ wwpn: "500a098288e2b9b1", lun: 0 }] }, true)).toMatchObject({ ok: true, values: { NetDevFuncType: "FibreChannel" } });
  });

  it("writes two targets with string LUNIDs and BootMode, then nothing once held; undo puts the slots back", () => {
    const targets = [{ wwpn: "500a098288e2b9b1", lun: 3 }, { wwpn: "50:0a:09:82:98:e2:b9:b1", lun: "3" }];
    const wanted = wantedFc(fc, { targets }, false);
    if (!wanted.ok) throw new Error(wanted.reason);
    const changes = differing(fc, wanted.values);
    expect(patchBody(changes)).toEqual({
      BootMode: "FibreChannel",
      FibreChannel: {
        BootTargets: [
          { WWPN: "50:0A:09:82:88:E2:B9:B1", LUNID: "3", BootPriority: 0 },
          { WWPN: "50:0A:09:82:98:E2:B9:B1", LUNID: "3", BootPriority: 1 },
        ],
      },
    });
    const claim = claimFor("nic_fc", fc["@odata.id"], fc, changes, [], FC_IDENTITY);
    const held = overlay(fc as never, patchBody(changes)) as unknown as NetworkDeviceFunction;
    expect(differing(held, wanted.values)).toEqual({});
    expect(stillOurs(held, claim)).toBe(true);
    expect(patchBody(restoreValues(held, claim)!)).toEqual({ BootMode: "Disabled", FibreChannel: { BootTargets: fc.FibreChannel!.BootTargets } });
  });

  it("refuses duplicate priorities and non-WWPNs", () => {
    expect(desiredBootTargets({ targets: [{ wwpn: "500a098288e2b9b1", lun: 0, priority: 0 }, { wwpn: "500a098298e2b9b1", lun: 0, priority: 0 }] }).ok).toBe(false);
    expect(desiredBootTargets({ targets: [{ wwpn: "not-a-wwpn", lun: 0 }] }).ok).toBe(false);
  });
});

describe("iSCSI: MutualCHAP, multipath, undo", () => {
  it("writes both CHAP pairs for MutualCHAP and the second path", () => {
    const w = wantedIscsi(spec, configured as unknown as NetworkDeviceFunction);
    expect(w.values).toMatchObject({
      "iSCSIBoot.AuthenticationMethod": "MutualCHAP",
      "iSCSIBoot.CHAPUsername": "init-user",
      "iSCSIBoot.MutualCHAPUsername": "tgt-user",
      "iSCSIBoot.IPMaskDNSViaDHCP": true,
      "iSCSIBoot.TargetInfoViaDHCP": false,
      "iSCSIBoot.SecondaryTargetIPAddress": "192.0.2.11",
      "iSCSIBoot.SecondaryLUN": 1,
    });
    expect(w.secrets).toEqual({ "iSCSIBoot.CHAPSecret": "init-secret-1", "iSCSIBoot.MutualCHAPSecret": "tgt-secret-1" });
  });

  it("claims only readable values and restores them with our secrets blanked", () => {
    const before = configured as unknown as NetworkDeviceFunction;
    const w = wantedIscsi(spec, before);
    const changes = differing(before, w.values);
    const claim = claimFor("nic_iscsi", before["@odata.id"], before, changes, Object.keys(w.secrets), ["iSCSIBoot.PrimaryTargetName"]);
    expect(JSON.stringify(claim)).not.toContain("secret-1");
    const ours = overlay(before as never, patchBody(changes));
    const restore = restoreValues(ours, claim)!;
    expect(restore).toMatchObject({ "iSCSIBoot.PrimaryTargetName": before.iSCSIBoot!.PrimaryTargetName, "iSCSIBoot.CHAPSecret": null, "iSCSIBoot.MutualCHAPSecret": null });
    expect(restoreValues(before, claim)).toBeNull();
  });
});

describe("HPE UEFI iSCSI attempts", () => {
  it("leaves the operator's attempt alone and takes free ones, sending {} for the rest", () => {
    const placed = placeAttempts(hpeIscsi, 2)!;
    expect(placed).toEqual([1, 2]);
    const plan = planIscsi(hpeIscsi, spec, "NicBoot2", placed, false);
    const body = patchBody({ ...plan.values, ...plan.secrets });
    const sources = body.iSCSISources as Array<Record<string, unknown>>;
    expect(sources[0]).toEqual({});
    expect(sources[1]).toMatchObject({ iSCSIAttemptName: "sanboot-1", iSCSINicSource: "NicBoot2", iSCSITargetIpAddress: "192.0.2.10", iSCSILUN: "1", iSCSIChapType: "Mutual", iSCSIReverseChapSecret: "tgt-secret-1" });
    expect(sources[2]).toMatchObject({ iSCSIAttemptName: "sanboot-2", iSCSITargetIpAddress: "192.0.2.11" });
    expect(body.iSCSIInitiatorName).toBe(spec.initiator_name);
    const claim = claimFor("hpe_bios_iscsi", "/redfish/v1/systems/1/bios/iscsi/", hpeIscsi, plan.values, Object.keys(plan.secrets), plan.identity);
    expect(claim.before.iSCSIInitiatorName).toBe("iqn.1986-03.com.hpe:uefi-p89-mxq91204kz");
    expect(claimedAttempts(Object.keys(claim.wrote))).toEqual([1, 2]);
  });

  it("sends nothing once the pending settings hold our attempts and the secrets are vouched for", () => {
    const placed = placeAttempts(hpeIscsi, 2)!;
    const first = planIscsi(hpeIscsi, spec, "NicBoot2", placed, false);
    const view = pendingIscsi(hpeIscsi, patchBody({ ...first.values, ...first.secrets }) as HpeIscsi);
    expect(placeAttempts(view, 2)).toEqual(placed);
    const again = planIscsi(view, spec, "NicBoot2", placed, true);
    expect(again.values).toEqual({});
    expect(again.secrets).toEqual({});
    expect(overrideHints(view, placed)).toContain("iqn.2010-10.org.openstack:volume-9");
  });

  it("writes LUNs in SAM-2 form: up to 4 digits as they are, more in groups of 4", () => {
    expect(sam2Lun(0)).toBe("0");
    expect(sam2Lun(1)).toBe("1");
    expect(sam2Lun(9999)).toBe("9999");
    expect(sam2Lun(12345)).toBe("1234-5");
  });

  it("gives each attempt it makes a unique instance: a blank slot reads 0, which the BIOS ignores", () => {
    const blank = { iSCSIAttemptInstance: 0, iSCSIAttemptName: "", iSCSITargetName: "" };
    const theirs = { iSCSIAttemptInstance: 1, iSCSIAttemptName: "ops", iSCSITargetName: "iqn.ops:t" };
    const view: HpeIscsi = { iSCSISources: [theirs, blank, blank, blank] };
    const placed = placeAttempts(view, 2)!;
    expect(placed).toEqual([1, 2]);
    expect(instancesFor(view, placed)).toEqual([2, 3]);
    const plan = planIscsi(view, spec, "NicBoot2", placed, false);
    expect(plan.values).toMatchObject({ "iSCSISources.1.iSCSIAttemptInstance": 2, "iSCSISources.2.iSCSIAttemptInstance": 3, "iSCSISources.1.iSCSIAuthenticationMethod": "CHAP" });
    expect(Object.values(plan.values)).not.toContain(null);
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
