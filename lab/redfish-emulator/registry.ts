/**
 * The set of emulated systems behind one server, and the plain-JSON snapshot tests read
 * (secrets included: the lab is where assertions on them are allowed).
 */
import { bootOptions } from "./boot-options";
import { createSystem } from "./build-system";
import {
  noFaults, normaliseMac,
  type BiosValue, type BootRecord, type BootedDevice, type Faults, type FcState, type Flavour, type HpeAttempt, type Job, type PatchRecord,
  type PendingChanges, type SystemSpec, type SystemState, type Timing,
} from "./model";
import type { ExtendedInfo } from "./redfish-errors";
import { attachMachine, type ConsoleLine, type EventRecord, type MachineBackend, type MachinePlan } from "./machine";
import { cancelTimers } from "./power";
import { uris } from "./uris";
import type { IscsiBootValues } from "./iscsi-fields";

export interface FunctionSnapshot {
  id: string;
  adapterId: string;
  uri: string;
  mac: string;
  netDevFuncType: string;
  capabilities: string[];
  /** a function in the chassis that is not the system's (a DPU's) */
  foreign: boolean;
  bootMode: string;
  /** full iSCSIBoot, CHAPSecret / MutualCHAPSecret included */
  iSCSIBoot: IscsiBootValues;
  /** Fibre Channel functions */
  fc?: FcState;
  /** staged in the settings object, waiting for a reset (secrets included) */
  pending: PendingChanges | null;
  /** `@Redfish.Settings.Messages` of the last apply */
  settingsMessages?: ExtendedInfo[];
  /** HPE FC functions: Oem.Hpe.BootTargetSource */
  hpeBootTargetSource?: string;
}

export interface SystemSnapshot {
  id: string;
  uri: string;
  flavour: Flavour;
  /** HPE: the BIOS UEFI iSCSI initiator in force and staged (secrets included) */
  hpeIscsi?: { initiatorName: string | null; sources: HpeAttempt[]; pending: unknown; messages: ExtendedInfo[] };
  /** Dell / HPE / Supermicro BIOS attributes in force and staged (secrets included) */
  bios?: { attributes: Record<string, BiosValue>; pending: Record<string, BiosValue> | null; messages: ExtendedInfo[] };
  /** Dell jobs and generic-settings tasks; `uri` is where a client reads them (DellJob or Task) */
  jobs: Array<Pick<Job, "id" | "kind" | "state" | "target" | "messageId"> & { uri: string; location: string; jobType?: string }>;
  PowerState: string;
  BootProgress: { LastState: string; LastStateTime: string };
  Boot: {
    BootSourceOverrideTarget: string;
    BootSourceOverrideEnabled: string;
    BootSourceOverrideMode: string;
    UefiTargetBootSourceOverride: string | null;
    BootNext: string | null;
  };
  /** the BootOptions members as served now: reference, UEFI path, and the device behind it */
  bootOptions: Array<{ id: string; uri: string; displayName: string; path: string; device: BootedDevice }>;
  functions: FunctionSnapshot[];
  /** PATCH requests received for this system (any status) */
  patchCount: number;
  requestCount: number;
  resetCount: number;
  patches: PatchRecord[];
  resets: Array<{ at: string; resetType: string }>;
  boots: BootRecord[];
  faults: Faults;
  /** machine-backed systems: the console since the machine last started, the event log, the last plan (secrets included) */
  machine?: { running: boolean; console: ConsoleLine[]; events: EventRecord[]; plan: MachinePlan | null };
}

export class SystemRegistry {
  private readonly systems = new Map<string, SystemState>();
  private created = 0;

  constructor(
    private readonly timing: Timing = { powerDelayMs: 200, postDelayMs: 200 },
    private readonly machines?: MachineBackend,
  ) {}

  add(spec: SystemSpec = {}): SystemState {
    if (spec.id !== undefined && !/^[A-Za-z0-9._-]+$/.test(spec.id)) throw new Error(`bad system id: ${spec.id}`);
    if (spec.mac !== undefined) normaliseMac(spec.mac);
    if (spec.machine && (spec.fcPorts ?? 0) > 0) throw new Error("a machine-backed system boots iSCSI only: the virtual machine has no Fibre Channel HBA");
    const sys = createSystem(spec, this.created, { ...this.timing });
    if (this.systems.has(sys.id)) throw new Error(`system ${sys.id} exists`);
    if (spec.machine) attachMachine(sys, this.machines, typeof spec.machine === "object" ? spec.machine.osMarker : undefined);
    this.created += 1;
    this.systems.set(sys.id, sys);
    return sys;
  }

  findJob(id: string): Job | undefined {
    for (const s of this.systems.values()) {
      const job = s.jobs.find((j) => j.id === id);
      if (job) return job;
    }
    return undefined;
  }

  get(id: string): SystemState | undefined {
    return this.systems.get(id);
  }

  all(): SystemState[] {
    return [...this.systems.values()];
  }

  require(id: string): SystemState {
    const sys = this.systems.get(id);
    if (!sys) throw new Error(`no system ${id}`);
    return sys;
  }

  setFaults(id: string, faults: Partial<Faults>): Faults {
    const sys = this.require(id);
    Object.assign(sys.faults, faults);
    return { ...sys.faults };
  }

  clearFaults(id: string): void {
    this.require(id).faults = noFaults();
  }

  snapshot(id: string): SystemSnapshot {
    const s = this.require(id);
    return structuredClone({
      id: s.id,
      uri: uris.system(s),
      flavour: s.flavour,
      ...(s.hpe
        ? { hpeIscsi: { initiatorName: s.hpe.initiatorName, sources: s.hpe.sources, pending: s.hpe.pending, messages: s.hpe.settings.messages } }
        : {}),
      ...(s.bios ? { bios: { attributes: s.bios.attributes, pending: s.bios.pending, messages: s.bios.settings?.messages ?? [] } } : {}),
      jobs: s.jobs.map((j) => ({
        id: j.id, kind: j.kind, state: j.state, target: j.target, messageId: j.messageId,
        uri: j.kind === "dell-job" ? uris.job(j) : uris.task(j), location: uris.jobLocation(j), ...(j.jobType ? { jobType: j.jobType } : {}),
      })),
      PowerState: s.power,
      BootProgress: { LastState: s.bootProgress, LastStateTime: s.bootProgressAt },
      Boot: {
        BootSourceOverrideTarget: s.boot.target,
        BootSourceOverrideEnabled: s.boot.enabled,
        BootSourceOverrideMode: s.boot.mode,
        UefiTargetBootSourceOverride: s.boot.uefiTarget,
        BootNext: s.boot.bootNext,
      },
      bootOptions: bootOptions(s).map((o) => ({ id: o.ref, uri: uris.bootOption(s, o.ref), displayName: o.displayName, path: o.path, device: o.device })),
      functions: s.adapters.flatMap((a) =>
        a.functions.map((f) => ({
          id: f.id,
          adapterId: a.id,
          uri: uris.fn(s, a, f),
          mac: f.mac,
          netDevFuncType: f.netDevFuncType,
          capabilities: f.capabilities,
          foreign: a.foreign === true,
          bootMode: f.bootMode,
          iSCSIBoot: f.iscsiBoot,
          ...(f.fc ? { fc: f.fc } : {}),
          pending: f.pending,
          ...(f.settings ? { settingsMessages: f.settings.messages } : {}),
          ...(f.hpeBootTargetSource !== undefined ? { hpeBootTargetSource: f.hpeBootTargetSource } : {}),
        })),
      ),
      patchCount: s.counters.patches,
      requestCount: s.counters.requests,
      resetCount: s.counters.resets,
      patches: s.patches,
      resets: s.resets,
      boots: s.boots,
      faults: s.faults,
      ...(s.machine ? { machine: { running: s.machine.vm.running, console: s.machine.console, events: s.machine.events, plan: s.machine.plan } } : {}),
    });
  }

  async close(): Promise<void> {
    for (const s of this.systems.values()) cancelTimers(s);
    await Promise.all([...this.systems.values()].map((s) => s.machine?.vm.close()));
  }
}
