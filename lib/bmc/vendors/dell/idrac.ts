/**
 * Dell iDRAC 9 and 10. NIC and HBA boot targets live in the standard NetworkDeviceFunction,
 * written through its `/Settings` object with `@Redfish.SettingsApplyTime` OnReset (iDRAC10 offers
 * only OnReset); the write answers 202 with a configuration job that runs at the next reset
 * (jobs.ts); firmware that takes no apply time wants the job created. iDRAC renders unset values
 * ("0.0.0.0", "") and refuses null; CHAP credentials are read-only while the auth method does not
 * use them. In UEFI mode where the NICs offer no iSCSI boot, the BIOS initiator is programmed
 * through BIOS attributes (bios-iscsi.ts). What iDRAC does the DMTF way needs nothing here: the
 * UEFI device paths come from BootOptions, iDRAC10's boot override goes to the system's settings
 * object (it has no BootSourceOverrideMode), and an HBA's fixed target slots are kept as slots.
 */
import { inSlots, type BootTarget } from "../../redfish-fc";
import type { Manager, ServiceRoot } from "../../redfish-types";
import { quirks, renderedBlank, type VendorQuirks } from "../quirks";
import { hasOem } from "../select";
import { configureDellBiosIscsi, readBios } from "./bios-iscsi";
import { awaitLifecycleController, configJobRequest, jobOfLocation, withdrawJobs, type DellGeneration } from "./jobs";
import { undoPlace } from "../../redfish-places";

/** ServiceRoot `Vendor: "Dell"` / `Oem.Dell`, or a Manager with `Oem.Dell` or an iDRAC model. */
export function isDell(root: ServiceRoot | undefined, manager: Manager | undefined): boolean {
  if (/^dell/i.test(root?.Vendor ?? "") || hasOem(root?.Oem, "Dell")) return true;
  if (!manager) return false;
  return hasOem(manager.Oem, "Dell") || /idrac/i.test(`${manager.Model ?? ""} ${manager.Id ?? ""}`) || /^dell/i.test(manager.Manufacturer ?? "");
}

/** iDRAC10 is 17G: its Manager's Model says "17G", or its firmware is 1.x (iDRAC9 firmware is 3.x to 7.x). */
export function dellGeneration(manager: Manager | undefined): DellGeneration {
  const model = /(\d{2})G\b/.exec(manager?.Model ?? "")?.[1];
  if (model) return Number(model) >= 17 ? 10 : 9;
  const major = Number(/^(\d+)\./.exec(manager?.FirmwareVersion ?? "")?.[1]);
  return Number.isFinite(major) && major > 0 && major < 3 ? 10 : 9;
}

export function dellIdrac(manager: Manager | undefined): VendorQuirks {
  const gen = dellGeneration(manager);
  return quirks({
    name: "dell",
    label: `Dell iDRAC${gen}`,
    readsEveryFunction: true,
    ready: (ctx) => awaitLifecycleController(ctx),
    iscsiPlace: (ctx, system, fns, spec, guard) => configureDellBiosIscsi(ctx, system, fns, spec, guard),
    undoVendorPlace: async (ctx, claim) => (claim.kind === "dell_bios_iscsi" ? undoPlace(ctx, claim, readBios) : undefined),
    afterStagedWrite: async (ctx, target, reply) => {
      if (!target.deferred || target.applyTime !== undefined || reply.status === 202) return reply;
      const job = configJobRequest(gen, ctx.managerUri, target.uri);
      const created = await ctx.w.t.post(job.uri, job.body);
      return created.location ? { ...created, status: 202 } : reply;
    },
    taskUri: (location) => jobOfLocation(gen, location),
    withdrawStaged: (ctx, claim) => withdrawJobs(ctx, claim),
    fcValues: (fn, values) => {
      // iDRAC's HBAs have fixed target slots: the whole slot array goes, ours first
      const wanted = values["FibreChannel.BootTargets"] as BootTarget[] | undefined;
      if (!wanted) return { ok: true, value: values };
      const slots = inSlots(fn.FibreChannel?.BootTargets, wanted);
      return slots.ok ? { ok: true, value: { ...values, "FibreChannel.BootTargets": slots.targets } } : { ok: false, reason: slots.reason };
    },
    blank: renderedBlank,
    chapDependent: true,
  });
}
