import { describe, expect, it } from "vitest";
import { claimFor } from "../../lib/bmc/claims";
import {
  chooseResetType,
  chooseSanOverride,
  judgeBoot,
  OVERRIDE_IDENTITY,
  overrideDisable,
  overrideRestore,
  overrideValues,
  powerIntent,
  resetActionOf,
  sanBootCapability,
} from "../../lib/bmc/redfish-boot-power";
import { extendedInfo } from "../../lib/bmc/redfish-transport";
import type { ActionInfo, ComputerSystem } from "../../lib/bmc/redfish-types";
import system from "./fixtures/computer-system.json";
import noSan from "./fixtures/computer-system-no-san-target.json";
import uefiOnly from "./fixtures/computer-system-uefi-target-only.json";
import actionInfo from "./fixtures/reset-action-info.json";
import notInList from "./fixtures/error-property-value-not-in-list.json";

const contoso = system as ComputerSystem;
const hpeLike = uefiOnly as ComputerSystem;
const legacy = noSan as ComputerSystem;

describe("chooseSanOverride", () => {
  it.each([["uefi", "UEFI"], ["bios", "Legacy"]] as const)("uses RemoteDrive once in %s mode when allowed", (mode, redfishMode) => {
    expect(chooseSanOverride(contoso.Boot, mode)).toEqual({
      kind: "patch",
      body: { Boot: { BootSourceOverrideTarget: "RemoteDrive", BootSourceOverrideEnabled: "Once", ...(redfishMode === "UEFI" ? {} : { BootSourceOverrideMode: "Legacy" }) } },
    });
  });

  it("falls back to UefiTarget with the device path that names iSCSI", () => {
    const d = chooseSanOverride(hpeLike.Boot, "uefi");
    expect(d.kind).toBe("patch");
    const boot = d.kind === "patch" ? d.body.Boot : {};
    expect(boot.BootSourceOverrideTarget).toBe("UefiTarget");
    expect(boot.UefiTargetBootSourceOverride).toMatch(/\/iSCSI\(iqn\.2010-10\.org\.openstack:volume-1/);
  });

  it("reports the capability missing for BIOS mode when only UefiTarget could do it", () => {
    expect(chooseSanOverride(hpeLike.Boot, "bios").kind).toBe("missing");
  });

  it("reports the capability missing when neither RemoteDrive nor an iSCSI UEFI target is allowed", () => {
    expect(chooseSanOverride(legacy.Boot, "bios").kind).toBe("missing");
    expect(chooseSanOverride(legacy.Boot, "uefi").kind).toBe("missing");
  });

  it("sets a continuous override when the node asks for one", () => {
    const d = chooseSanOverride(contoso.Boot, "uefi", [], "continuous");
    expect(d.kind === "patch" && d.body.Boot.BootSourceOverrideEnabled).toBe("Continuous");
  });

  it("falls back to a one-time override where the BMC allows no continuous one", () => {
    const onceOnly = { ...contoso.Boot, "BootSourceOverrideEnabled@Redfish.AllowableValues": ["Disabled", "Once"] };
    const d = chooseSanOverride(onceOnly, "uefi", [], "continuous");
    expect(d.kind === "patch" && d.body.Boot.BootSourceOverrideEnabled).toBe("Once");
  });

  it("answers done when the override is already set", () => {
    const boot = { ...contoso.Boot, BootSourceOverrideTarget: "RemoteDrive", BootSourceOverrideEnabled: "Once" };
    expect(chooseSanOverride(boot, "uefi")).toEqual({ kind: "done" });
  });
});

describe("the override sanboot set, and only that one", () => {
  // a PXE one-time override someone set, then sanboot's over it
  const found: ComputerSystem = { ...contoso, Boot: { ...contoso.Boot, BootSourceOverrideEnabled: "Once", BootSourceOverrideTarget: "Pxe", BootSourceOverrideMode: "Legacy" } };
  const d = chooseSanOverride(found.Boot, "uefi", [], "once");
  if (d.kind !== "patch") throw new Error("the fixture allows RemoteDrive");
  const claim = claimFor("boot_override", "/redfish/v1/Systems/1", found, overrideValues(d.body), [], OVERRIDE_IDENTITY);
  const ours = { ...found, Boot: { ...found.Boot, ...d.body.Boot } };

  it("is put back as it was found (the operator's PXE boot comes back)", () => {
    expect(overrideRestore(ours, claim)).toEqual({
      "Boot.BootSourceOverrideTarget": "Pxe",
      "Boot.BootSourceOverrideEnabled": "Once",
      "Boot.BootSourceOverrideMode": "Legacy",
    });
    expect(overrideRestore(found, claim)).toBeNull();
  });

  it("after the boot used it up (Enabled Disabled), is still ours by its target", () => {
    const used = { ...ours, Boot: { ...ours.Boot, BootSourceOverrideEnabled: "Disabled" } };
    expect(overrideRestore(used, claim)).toMatchObject({ "Boot.BootSourceOverrideTarget": "Pxe", "Boot.BootSourceOverrideEnabled": "Once" });
    expect(overrideDisable(used, claim)).toBeNull();
  });

  it("is left alone once someone pointed it elsewhere", () => {
    const theirs = { ...ours, Boot: { ...ours.Boot, BootSourceOverrideTarget: "Cd", BootSourceOverrideEnabled: "Once" } };
    expect(overrideRestore(theirs, claim)).toBeNull();
    expect(overrideDisable(theirs, claim)).toBeNull();
  });

  it("is disabled before a power cycle, Target and Enabled written together", () => {
    expect(overrideDisable(ours, claim)).toEqual({ "Boot.BootSourceOverrideTarget": "RemoteDrive", "Boot.BootSourceOverrideEnabled": "Disabled" });
  });
});

describe("sanBootCapability", () => {
  it("needs RemoteDrive, or in UEFI UefiTarget with a source of device paths", () => {
    expect(sanBootCapability(contoso, "bios")).toEqual({ ok: true });
    expect(sanBootCapability(legacy, "bios").ok).toBe(false);
    expect(sanBootCapability(hpeLike, "uefi")).toEqual({ ok: true });
    const tower = { Boot: { "BootSourceOverrideTarget@Redfish.AllowableValues": ["None", "Pxe", "Hdd", "UefiTarget"], UefiTargetBootSourceOverride: "/0x31/0x33/0x01/0x01" } };
    const r = sanBootCapability(tower, "uefi");
    expect(r.ok).toBe(false);
    expect(!r.ok && r.reason).toMatch(/no UEFI device paths/);
    expect(sanBootCapability({ ...tower, Boot: { ...tower.Boot, BootOptions: { "@odata.id": "/redfish/v1/Systems/1/BootOptions" } } } as ComputerSystem, "uefi")).toEqual({ ok: true });
    expect(sanBootCapability(tower, "bios").ok).toBe(false);
    expect(sanBootCapability({}, "uefi").ok).toBe(false);
  });
});

describe("judgeBoot: is this evidence that an OS booted?", () => {
  const on = (bp?: { LastState?: string; LastStateTime?: string }) => ({ PowerState: "On", ...(bp ? { BootProgress: bp } : {}) }) as ComputerSystem;

  it("without BootProgress, PowerState On is not evidence", () => {
    const j = judgeBoot(on(), undefined, false);
    expect(j.state).toBe("unconfirmed");
    expect(j.state === "unconfirmed" && j.evidence).toMatch(/no BootProgress/);
  });

  it("an OS state whose time moved past the one before the reset is", () => {
    const before = { boot_progress: "OSRunning", boot_progress_time: "2026-12-01T10:00:00Z" };
    expect(judgeBoot(on({ LastState: "OSRunning", LastStateTime: "2026-12-01T10:00:00Z" }), before, false).state).toBe("waiting");
    expect(judgeBoot(on({ LastState: "OSRunning", LastStateTime: "2026-12-01T10:04:00Z" }), before, false).state).toBe("booted");
  });

  it("a stale OS state without times counts only after a pre-OS state was seen", () => {
    const before = { boot_progress: "OSRunning" };
    expect(judgeBoot(on({ LastState: "OSRunning" }), before, false).state).toBe("waiting");
    expect(judgeBoot(on({ LastState: "OSRunning" }), before, true).state).toBe("booted");
    expect(judgeBoot(on({ LastState: "OSRunning" }), { boot_progress: "None" }, false).state).toBe("booted");
  });

  it("a new OSBootStarted is the loader, not yet the OS: booted only once the caller's wait for OSRunning is over", () => {
    const fresh = on({ LastState: "OSBootStarted", LastStateTime: "2026-12-01T10:04:00Z" });
    const before = { boot_progress: "None", boot_progress_time: "2026-12-01T10:00:00Z" };
    expect(judgeBoot(fresh, before, true)).toMatchObject({ state: "loading", evidence: expect.stringMatching(/OSBootStarted/) });
    expect(judgeBoot(fresh, before, true, true).state).toBe("booted");
    // a stale loader state is no new boot either way
    expect(judgeBoot(on({ LastState: "OSBootStarted", LastStateTime: "2026-12-01T10:00:00Z" }), { boot_progress: "OSBootStarted", boot_progress_time: "2026-12-01T10:00:00Z" }, false, true).state).toBe("waiting");
  });

  it("waits while off or in POST", () => {
    expect(judgeBoot({ PowerState: "Off" }, undefined, false).state).toBe("waiting");
    expect(judgeBoot(on({ LastState: "PCIResourceConfigStarted" }), undefined, true).state).toBe("waiting");
  });
});

describe("reset", () => {
  it("finds the action target in Actions", () => {
    expect(resetActionOf(contoso)?.target).toBe("/redfish/v1/Systems/437XR1138R2/Actions/ComputerSystem.Reset");
    expect(resetActionOf(hpeLike)).toMatchObject({ allowed: undefined, actionInfo: "/redfish/v1/Systems/1/ResetActionInfo" });
    expect(resetActionOf({})).toBeUndefined();
  });

  it("powers on with On, restarts with ForceRestart, powers off with ForceOff", () => {
    const allowed = resetActionOf(contoso)!.allowed;
    expect(chooseResetType(allowed, powerIntent("Off"))).toBe("On");
    expect(chooseResetType(allowed, powerIntent("On"))).toBe("ForceRestart");
    expect(chooseResetType(allowed, "off")).toBe("ForceOff");
  });

  it("restarts with PowerCycle where no restart type is allowed", () => {
    expect(chooseResetType(resetActionOf(legacy)!.allowed, "restart")).toBe("PowerCycle");
  });

  it("reads allowed types from ActionInfo parameters", () => {
    const allowed = (actionInfo as ActionInfo).Parameters?.find((p) => p.Name === "ResetType")?.AllowableValues;
    expect(chooseResetType(allowed, "restart")).toBe("ForceRestart");
  });

  it("finds nothing when the BMC allows no suitable type", () => {
    expect(chooseResetType(["Nmi"], "on")).toBeUndefined();
  });
});

describe("extendedInfo", () => {
  it("surfaces MessageIds, messages and the related property", () => {
    expect(extendedInfo(notInList)).toEqual([
      {
        id: "Base.1.8.PropertyValueNotInList",
        message: "The value RemoteDrive for the property Boot/BootSourceOverrideTarget is not in the list of acceptable values.",
        property: "#/Boot/BootSourceOverrideTarget",
      },
    ]);
  });
});
