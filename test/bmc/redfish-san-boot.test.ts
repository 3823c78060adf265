/**
 * The pure iSCSI decisions and the claims they become: which function, what it must hold (only
 * what the wanted state needs), what a write claims, when a place is still ours, and what undo
 * puts back, judged the way BMCs render values.
 */
import { describe, expect, it } from "vitest";
import { claimFor, differing, mergeEvidence, patchBody, restoreValues, sameValue, stillOurs } from "../../lib/bmc/claims";
import { chooseIscsiFunction, ISCSI_IDENTITY, isUnconfigured, secretsInPlace, wantedIscsi } from "../../lib/bmc/redfish-san-boot";
import { overlay } from "../../lib/bmc/redfish-places";
import { writeTarget } from "../../lib/bmc/redfish-settings";
import type { NetworkDeviceFunction } from "../../lib/bmc/redfish-types";
import type { IscsiBootSpec } from "../../lib/relay/protocol";
import ethernet from "./fixtures/network-device-function-ethernet.json";
import blank from "./fixtures/network-device-function-iscsi.json";
import configured from "./fixtures/network-device-function-iscsi-configured.json";
import withSettings from "./fixtures/network-device-function-settings.json";

const lom = ethernet as NetworkDeviceFunction;
const port1 = blank as unknown as NetworkDeviceFunction;
const port2 = configured as unknown as NetworkDeviceFunction;
const dell = withSettings as unknown as NetworkDeviceFunction;

/** The spec that `network-device-function-iscsi-configured.json` already holds. */
const heldSpec: IscsiBootSpec = {
  initiator_name: "iqn.2026-11.org.example.sanboot:node-7",
  network: { mode: "static", address: "192.0.2.21", netmask: "255.255.255.0", gateway: "192.0.2.1" },
  targets: [{ name: "iqn.2010-10.org.openstack:volume-6a1c9a8e-2b1f-4f43-9a57-0f4c2d9b7e11", address: "192.0.2.10", port: 3260, lun: 0 }],
  auth: { method: "CHAP", username: "bXzSB5RmGxkHnRjv", secret: "s3cr3t-chap-pass" },
  boot_mode: "uefi",
};

describe("chooseIscsiFunction", () => {
  it("skips functions that cannot boot iSCSI and those holding someone's configuration", () => {
    expect(chooseIscsiFunction([lom, port2, port1])).toEqual({ ok: true, fn: port1 });
  });

  it("refuses, naming mac_address, when every iSCSI port is configured and none is named", () => {
    const choice = chooseIscsiFunction([lom, port2]);
    expect(choice.ok).toBe(false);
    expect(!choice.ok && choice.reason).toMatch(/mac_address/);
  });

  it("takes a function that already holds the node's own initiator name (sanboot's, from an earlier run)", () => {
    expect(chooseIscsiFunction([lom, port2, port1], undefined, undefined, heldSpec.initiator_name.toUpperCase())).toEqual({ ok: true, fn: port2 });
  });

  it("keeps to the function an earlier run claimed", () => {
    expect(chooseIscsiFunction([lom, port1, port2], undefined, port2["@odata.id"])).toEqual({ ok: true, fn: port2 });
  });

  it("picks by MAC whatever its separators and case, configured or not", () => {
    expect(chooseIscsiFunction([lom, port1, port2], "14-02-EC-00-30-02")).toEqual({ ok: true, fn: port2 });
  });

  it("refuses a MAC whose function is not iSCSI-capable, and an FC-typed function", () => {
    const choice = chooseIscsiFunction([lom, port1], "14:02:ec:00:10:01");
    expect(!choice.ok && choice.reason).toMatch(/cannot boot iSCSI/);
    const fc = { ...port1, NetDevFuncType: "FibreChannel" };
    expect(chooseIscsiFunction([fc]).ok).toBe(false);
  });

  it("reports an unknown MAC and a system with no iSCSI function", () => {
    expect(chooseIscsiFunction([port1], "00:00:00:00:00:01").ok).toBe(false);
    expect(chooseIscsiFunction([lom]).ok).toBe(false);
  });

  it("reads '0.0.0.0' as no target, as Dell renders it", () => {
    expect(isUnconfigured({ ...port1, iSCSIBoot: { PrimaryTargetIPAddress: "0.0.0.0", PrimaryTargetName: "" } })).toBe(true);
  });
});

describe("wantedIscsi: only what the wanted state needs", () => {
  it("maps a static multipath spec with VLAN onto both paths", () => {
    const w = wantedIscsi(
      {
        ...heldSpec,
        network: { mode: "static", address: "192.0.2.21", netmask: "255.255.255.0", vlan_id: 42 },
        targets: [heldSpec.targets[0]!, { name: "iqn.x:b", address: "192.0.2.11", port: 3261, lun: 0 }],
      },
      port1,
    );
    expect(w.values).toMatchObject({
      "iSCSIBoot.IPAddressType": "IPv4",
      "iSCSIBoot.IPMaskDNSViaDHCP": false,
      "iSCSIBoot.PrimaryVLANEnable": true,
      "iSCSIBoot.PrimaryVLANId": 42,
      "iSCSIBoot.SecondaryTargetName": "iqn.x:b",
      "iSCSIBoot.SecondaryTargetTCPPort": 3261,
      "iSCSIBoot.SecondaryVLANId": 42,
      "iSCSIBoot.AuthenticationMethod": "CHAP",
    });
    expect(w.values).not.toHaveProperty("iSCSIBoot.InitiatorDefaultGateway");
    expect(w.secrets).toEqual({ "iSCSIBoot.CHAPSecret": "s3cr3t-chap-pass" });
  });

  it("with DHCP, one target and no CHAP, writes no addresses, second path or CHAP fields", () => {
    const w = wantedIscsi({ ...heldSpec, network: { mode: "dhcp" }, auth: { method: "None" } }, port1);
    expect(w.values["iSCSIBoot.IPMaskDNSViaDHCP"]).toBe(true);
    expect(Object.keys(w.values).filter((k) => /Initiator(IP|Netmask|Default)|Secondary|CHAP/.test(k))).toEqual([]);
    expect(w.secrets).toEqual({});
  });

  it("blanks a second path someone left, so it is not tried after ours", () => {
    const w = wantedIscsi(heldSpec, { ...port1, iSCSIBoot: { SecondaryTargetName: "iqn.old:t", SecondaryTargetIPAddress: "192.0.2.99" } });
    expect(w.values).toMatchObject({ "iSCSIBoot.SecondaryTargetName": null, "iSCSIBoot.SecondaryTargetIPAddress": null });
  });

  it("says IPv6 when the portal is IPv6", () => {
    const w = wantedIscsi({ ...heldSpec, targets: [{ name: "iqn.x:a", address: "2001:db8::10", port: 3260, lun: 1 }] }, port1);
    expect(w.values["iSCSIBoot.IPAddressType"]).toBe("IPv6");
  });

  it("MutualCHAP: both pairs, the secrets as secrets", () => {
    const w = wantedIscsi({ ...heldSpec, auth: { method: "MutualCHAP", username: "u", secret: "s1", mutual_username: "tu", mutual_secret: "s2" } } as never, port1);
    expect(w.values).toMatchObject({ "iSCSIBoot.AuthenticationMethod": "MutualCHAP", "iSCSIBoot.CHAPUsername": "u", "iSCSIBoot.MutualCHAPUsername": "tu" });
    expect(w.secrets).toEqual({ "iSCSIBoot.CHAPSecret": "s1", "iSCSIBoot.MutualCHAPSecret": "s2" });
  });
});

describe("differing: what a write must send", () => {
  it("sends nothing when the function already holds the target, IQNs compared without case", () => {
    const spec = { ...heldSpec, initiator_name: heldSpec.initiator_name.toUpperCase() };
    expect(differing(port2, wantedIscsi(spec, port2).values)).toEqual({});
  });

  it("sends only what differs, and switches BootMode to iSCSI", () => {
    const d = differing(port1, wantedIscsi(heldSpec, port1).values);
    expect(d).toMatchObject({ BootMode: "iSCSI", "iSCSIBoot.InitiatorName": heldSpec.initiator_name, "iSCSIBoot.PrimaryLUN": 0 });
    expect(d).not.toHaveProperty("iSCSIBoot.IPAddressType"); // already IPv4
  });

  it("reads '0.0.0.0' and null alike for addresses, '7' and 7 alike for LUNs", () => {
    expect(sameValue("iSCSIBoot.InitiatorIPAddress", "0.0.0.0", null)).toBe(true);
    expect(sameValue("iSCSISources.0.iSCSILUN", "7", 7)).toBe(true);
    expect(sameValue("iSCSISources.0.iSCSILUN", "1234-5", 12345)).toBe(true);
    expect(sameValue("iSCSIBoot.CHAPUsername", "0.0.0.0", null)).toBe(false);
  });
});

describe("claims", () => {
  const claimOfWrite = (fn: NetworkDeviceFunction) => {
    const w = wantedIscsi(heldSpec, fn);
    return claimFor("nic_iscsi", fn["@odata.id"], fn, differing(fn, w.values), Object.keys(w.secrets), ISCSI_IDENTITY);
  };

  it("record what each written path held before, never a secret", () => {
    const c = claimOfWrite(port1);
    expect(c.before["iSCSIBoot.PrimaryTargetName"]).toBe(port1.iSCSIBoot!.PrimaryTargetName ?? null);
    expect(c.wrote["iSCSIBoot.PrimaryTargetName"]).toBe(heldSpec.targets[0]!.name);
    expect(c.secrets).toEqual(["iSCSIBoot.CHAPSecret"]);
    expect(JSON.stringify(c)).not.toContain("s3cr3t-chap-pass");
    expect(c.identity).toEqual(["iSCSIBoot.PrimaryTargetName", "iSCSIBoot.InitiatorName", "iSCSIBoot.PrimaryTargetIPAddress", "BootMode"]);
  });

  it("a place is ours while its identity holds what we wrote; then undo puts 'before' back and blanks our secret", () => {
    const c = claimOfWrite(port1);
    const after = overlay(port1 as never, patchBody(c.wrote)) as unknown as NetworkDeviceFunction;
    expect(stillOurs(after, c)).toBe(true);
    const restore = restoreValues(after, c)!;
    expect(restore).toMatchObject({ ...c.before, "iSCSIBoot.CHAPSecret": null });
    expect(stillOurs(port1, c)).toBe(false);
  });

  it("secrets are in place only by evidence: a claim of ours, still in force", () => {
    const c = claimOfWrite(port1);
    const after = overlay(port1 as never, patchBody(c.wrote)) as unknown as NetworkDeviceFunction;
    const w = wantedIscsi(heldSpec, after);
    expect(secretsInPlace(after, c, w)).toBe(true);
    expect(secretsInPlace(after, undefined, w)).toBe(false);
  });

  it("merged across runs keep the first 'before' of each path and the last 'wrote'", () => {
    const first = claimOfWrite(port1);
    const second = { ...first, before: { ...first.before, BootMode: "iSCSI" }, wrote: { ...first.wrote, "iSCSIBoot.PrimaryLUN": 3 } };
    const merged = mergeEvidence({ claims: [first] }, { claims: [second] }).claims;
    expect(merged).toHaveLength(1);
    expect(merged[0]!.before.BootMode).toBe(first.before.BootMode);
    expect(merged[0]!.wrote["iSCSIBoot.PrimaryLUN"]).toBe(3);
  });

  it("become PATCH bodies with {} for array elements left alone", () => {
    expect(patchBody({ "iSCSISources.2.iSCSILUN": "1", iSCSIInitiatorName: "iqn.x" })).toEqual({ iSCSISources: [{}, {}, { iSCSILUN: "1" }], iSCSIInitiatorName: "iqn.x" });
  });
});

describe("settings objects", () => {
  it("PATCHes the settings object, applied on reset", () => {
    expect(writeTarget(dell["@odata.id"], dell["@Redfish.Settings"])).toEqual({ uri: `${dell["@odata.id"]}/Settings`, applyTime: "OnReset", deferred: true });
    expect(writeTarget(port1["@odata.id"], port1["@Redfish.Settings"])).toEqual({ uri: port1["@odata.id"], applyTime: undefined, deferred: false });
  });

  it("judges 'already done' on the pending values", () => {
    const view = overlay(dell as never, { BootMode: "iSCSI", iSCSIBoot: { PrimaryTargetName: "iqn.pending:t" } }) as unknown as NetworkDeviceFunction;
    expect(view.BootMode).toBe("iSCSI");
    expect(view.iSCSIBoot).toMatchObject({ InitiatorName: "iqn.1995-05.com.broadcom.iscsiboot", PrimaryTargetName: "iqn.pending:t" });
    expect(view["@odata.id"]).toBe(dell["@odata.id"]);
  });
});
