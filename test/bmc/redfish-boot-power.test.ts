import { describe, expect, it } from "vitest";
import { chooseResetType, chooseSanOverride, clearOverridePatch, powerIntent, resetActionOf } from "../../lib/bmc/redfish-boot-power";
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

describe("clearOverridePatch", () => {
  it("disables an active override and points it at None", () => {
    expect(clearOverridePatch(legacy.Boot)).toEqual({ Boot: { BootSourceOverrideEnabled: "Disabled", BootSourceOverrideTarget: "None" } });
  });

  it("sends nothing when no override is active", () => {
    expect(clearOverridePatch(contoso.Boot)).toBeNull();
  });

  it("leaves a PXE override alone when only SAN overrides are to be cleared", () => {
    expect(clearOverridePatch(legacy.Boot, true)).toBeNull();
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
