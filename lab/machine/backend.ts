/**
 * The lab BMC's machine backend (lab/redfish-emulator/machine.ts) on QEMU: a system asking for a
 * machine gets a QemuMachine, its console lines and milestones go to the BMC, and a QEMU that ends
 * by itself is the host powering off. Refused, with what is missing and which Debian package
 * ships it, where QEMU cannot run.
 */
import type { MachineBackend, MachinePlan as BmcPlan } from "../redfish-emulator/machine";
import { QemuMachine, qemuSupport, type IscsiBootPlan, type MachinePlan } from "./qemu";

export interface QemuBackendOptions {
  memoryMiB?: number;
  /** where the machines' temp dirs go */
  tmpRoot?: string;
}

/** What the BMC hands over, as the machine takes it: a NIC ROM takes a primary and a secondary target. */
export function machinePlanOf(plan: BmcPlan): MachinePlan {
  if (!plan.iscsi || plan.iscsi.targets.length === 0) return { mode: plan.mode };
  const [primary, secondary] = plan.iscsi.targets;
  const iscsi: IscsiBootPlan = {
    initiator: plan.iscsi.initiator,
    targets: secondary ? [primary!, secondary] : [primary!],
    ...(plan.iscsi.chap ? { chap: plan.iscsi.chap } : {}),
    ...(plan.iscsi.mutualChap ? { mutualChap: plan.iscsi.mutualChap } : {}),
  };
  return { mode: plan.mode, iscsi };
}

export function qemuBackend(opts: QemuBackendOptions = {}): MachineBackend {
  return {
    support: () => {
      const s = qemuSupport();
      return s.ok ? { ok: true } : { ok: false, reason: s.reason };
    },
    create: (systemId, { osMarker }, events) => {
      const m = new QemuMachine({
        name: `sanboot-lab-${systemId}`,
        ...(osMarker ? { osMarker } : {}),
        ...(opts.memoryMiB ? { memoryMiB: opts.memoryMiB } : {}),
        ...(opts.tmpRoot ? { tmpRoot: opts.tmpRoot } : {}),
      });
      m.onLine((line) => {
        events.line(line.text);
        if (line.milestone) events.milestone(line.milestone.milestone, line.text);
      });
      m.onExit((exit) => {
        if (!exit.requested) events.exited(`QEMU ended by itself (${exit.signal ?? `exit ${exit.code}`})${exit.stderr ? `: ${exit.stderr.trim().split("\n").at(-1)}` : ""}`);
      });
      return {
        get running() {
          return m.running;
        },
        start: (plan) => m.start(machinePlanOf(plan)),
        stop: () => m.stop(),
        close: () => m.close(),
      };
    },
  };
}
