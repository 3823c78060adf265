import { describe, expect, it } from "vitest";
import {
  chooseIscsiFunction,
  clearPatch,
  desiredIscsiBoot,
  diffIscsiBoot,
  holdsSanBoot,
  patchTarget,
  pendingView,
  restoredBootMode,
  sanBootPatch,
} from "../../lib/bmc/redfish-san-boot";
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
  it("skips functions that cannot boot iSCSI when no MAC is given", () => {
    const choice = chooseIscsiFunction([lom, port1, port2]);
    expect(choice).toEqual({ ok: true, fn: port1 });
  });

  it("picks by MAC whatever its separators and case", () => {
    expect(chooseIscsiFunction([lom, port1, port2], "14-02-EC-00-30-02")).toEqual({ ok: true, fn: port2 });
  });

  it("refuses a MAC whose function is not iSCSI-capable", () => {
    const choice = chooseIscsiFunction([lom, port1], "14:02:ec:00:10:01");
    expect(choice.ok).toBe(false);
    expect(!choice.ok && choice.reason).toMatch(/cannot boot iSCSI/);
  });

  it("reports an unknown MAC and a system with no iSCSI function", () => {
    expect(chooseIscsiFunction([port1], "00:00:00:00:00:01").ok).toBe(false);
    expect(chooseIscsiFunction([lom]).ok).toBe(false);
  });
});

describe("desiredIscsiBoot", () => {
  it("maps a static multipath spec with VLAN onto both paths", () => {
    const v = desiredIscsiBoot({
      ...heldSpec,
      network: { mode: "static", address: "192.0.2.21", netmask: "255.255.255.0", vlan_id: 42 },
      targets: [heldSpec.targets[0]!, { name: "iqn.x:b", address: "192.0.2.11", port: 3261, lun: 0 }],
    });
    expect(v).toMatchObject({
      IPAddressType: "IPv4",
      IPMaskDNSViaDHCP: false,
      InitiatorDefaultGateway: null,
      PrimaryVLANEnable: true,
      PrimaryVLANId: 42,
      SecondaryTargetName: "iqn.x:b",
      SecondaryTargetTCPPort: 3261,
      SecondaryVLANEnable: true,
      SecondaryVLANId: 42,
      AuthenticationMethod: "CHAP",
      CHAPSecret: "s3cr3t-chap-pass",
    });
  });

  it("leaves initiator addressing to DHCP and blanks the second path when there is one target", () => {
    const v = desiredIscsiBoot({ ...heldSpec, network: { mode: "dhcp" }, auth: { method: "None" } });
    expect(v.IPMaskDNSViaDHCP).toBe(true);
    expect(v).not.toHaveProperty("InitiatorIPAddress");
    expect(v.SecondaryTargetName).toBeNull();
    expect(v.CHAPUsername).toBeNull();
  });

  it("says IPv6 when the portal is IPv6", () => {
    const v = desiredIscsiBoot({ ...heldSpec, targets: [{ name: "iqn.x:a", address: "2001:db8::10", port: 3260, lun: 1 }] });
    expect(v.IPAddressType).toBe("IPv6");
  });
});

describe("diffIscsiBoot and sanBootPatch", () => {
  it("sends nothing when the function already holds the target and the secret is vouched for", () => {
    expect(sanBootPatch(port2, heldSpec, true)).toEqual({ ok: true, body: null });
  });

  it("treats empty strings as blank and IQNs case-insensitively", () => {
    const spec = { ...heldSpec, initiator_name: heldSpec.initiator_name.toUpperCase() };
    expect(diffIscsiBoot(port2.iSCSIBoot, desiredIscsiBoot(spec), true)).toEqual({});
  });

  it("sends the secret alone when nothing readable changed but the secret cannot be vouched for", () => {
    expect(sanBootPatch(port2, heldSpec, false)).toEqual({ ok: true, body: { iSCSIBoot: { CHAPSecret: "s3cr3t-chap-pass" } } });
  });

  it("sends only what differs, with the secret, and switches BootMode to iSCSI", () => {
    const plan = sanBootPatch(port1, heldSpec, false);
    expect(plan.ok && plan.body).toMatchObject({
      BootMode: "iSCSI",
      iSCSIBoot: {
        InitiatorName: heldSpec.initiator_name,
        PrimaryTargetIPAddress: "192.0.2.10",
        PrimaryLUN: 0,
        AuthenticationMethod: "CHAP",
        CHAPSecret: "s3cr3t-chap-pass",
      },
    });
    const sent = (plan.ok && plan.body?.iSCSIBoot) as Record<string, unknown>;
    expect(sent).not.toHaveProperty("IPAddressType"); // already IPv4
  });

  it("moving to another target rewrites the secret even when vouched for", () => {
    const spec = { ...heldSpec, targets: [{ ...heldSpec.targets[0]!, lun: 3 }] };
    const plan = sanBootPatch(port2, spec, true);
    expect(plan.ok && plan.body).toEqual({ iSCSIBoot: { PrimaryLUN: 3, CHAPSecret: "s3cr3t-chap-pass" } });
  });

  it("refuses a function that does not allow BootMode iSCSI", () => {
    const fn = { ...port1, "BootMode@Redfish.AllowableValues": ["Disabled", "PXE"] };
    expect(sanBootPatch(fn, heldSpec, false).ok).toBe(false);
  });
});

describe("clearing", () => {
  it("blanks target, initiator and CHAP and returns BootMode to Disabled", () => {
    const body = clearPatch(port2)!;
    expect(body.BootMode).toBe("Disabled");
    expect(body.iSCSIBoot).toMatchObject({
      InitiatorName: null,
      PrimaryTargetName: null,
      PrimaryTargetIPAddress: null,
      PrimaryTargetTCPPort: null,
      PrimaryLUN: null,
      AuthenticationMethod: "None",
      CHAPUsername: null,
      CHAPSecret: null,
      MutualCHAPSecret: null,
    });
  });

  it("leaves a never-configured function alone", () => {
    expect(holdsSanBoot(port1)).toBe(false);
    expect(clearPatch(port1)).toBeNull();
  });

  it("returns to PXE where Disabled is not allowed", () => {
    expect(restoredBootMode({ ...port2, "BootMode@Redfish.AllowableValues": ["PXE", "iSCSI"] })).toBe("PXE");
  });
});

describe("settings objects", () => {
  it("PATCHes the settings object, applied on reset", () => {
    expect(patchTarget(dell)).toEqual({
      uri: `${dell["@odata.id"]}/Settings`,
      applyTime: "OnReset",
    });
    expect(patchTarget(port1)).toEqual({ uri: port1["@odata.id"], applyTime: undefined });
  });

  it("judges 'already done' on the pending values", () => {
    const view = pendingView(dell, { BootMode: "iSCSI", iSCSIBoot: { PrimaryTargetName: "iqn.pending:t" } });
    expect(view.BootMode).toBe("iSCSI");
    expect(view.iSCSIBoot).toMatchObject({ InitiatorName: "iqn.1995-05.com.broadcom.iscsiboot", PrimaryTargetName: "iqn.pending:t" });
    expect(view["@odata.id"]).toBe(dell["@odata.id"]);
  });
});
