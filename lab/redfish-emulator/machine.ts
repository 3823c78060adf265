/**
 * A system backed by a real virtual machine (lab/machine, QEMU) instead of timers: at the end of
 * POST the BMC has applied what was staged and the firmware has picked its boot device (as for
 * every system); here that device is handed to the machine, whose network boot firmware does what
 * a NIC's iSCSI option ROM does with the values the BMC holds. From then on BootProgress moves only
 * with what the machine's serial console shows (the OS loader started, the OS running), the
 * console is served as a log service (OpenBMC's HostLogger), and a boot that fails is recorded in
 * the event log as an IPMI-style `Boot Error` entry, as BMCs record one in their SEL.
 *
 * The emulator names no hypervisor: a backend (lab/machine/backend.ts) is passed in. A system that
 * asks for a machine when the backend cannot run one is refused with the backend's reason.
 */
import { allFunctions, type BootRecord, type SystemState } from "./model";

export interface MachineTarget {
  iqn: string;
  address: string;
  port: number;
  lun: number;
}

/** What the machine's firmware boots: its mode, and the iSCSI boot its NIC ROM is given (none: nothing to boot). */
export interface MachinePlan {
  mode: "bios" | "uefi";
  iscsi?: {
    initiator: string;
    /** primary first, then the secondary */
    targets: MachineTarget[];
    chap?: { username: string; secret: string };
    mutualChap?: { username: string; secret: string };
  };
}

export type Milestone = "firmware" | "loader" | "os" | "failed";

export interface MachineEvents {
  /** one line of the serial console */
  line(text: string): void;
  /** a line that marks a stage of the boot */
  milestone(kind: Milestone, line: string): void;
  /** the machine stopped on its own (the guest powered off, or the hypervisor died) */
  exited(why: string): void;
}

export interface BackingMachine {
  /** whether the machine runs now */
  readonly running: boolean;
  /** starts the machine with this plan, restarting it when it runs */
  start(plan: MachinePlan): Promise<void>;
  stop(): Promise<void>;
  close(): Promise<void>;
}

export interface MachineBackend {
  /** whether this host can run a machine; the reason names what is missing */
  support(): { ok: true } | { ok: false; reason: string };
  create(systemId: string, opts: { osMarker?: string }, events: MachineEvents): BackingMachine;
}

export interface ConsoleLine {
  at: string;
  text: string;
}

/** An entry of the event log (SEL): what the firmware reported about a boot. */
export interface EventRecord {
  id: number;
  at: string;
  severity: "OK" | "Warning" | "Critical";
  sensorType: string;
  message: string;
}

export interface MachineState {
  vm: BackingMachine;
  /** the console since the machine last started (bounded) */
  console: ConsoleLine[];
  events: EventRecord[];
  nextEventId: number;
  /** the plan the machine was last started with (secrets included: the lab snapshot) */
  plan: MachinePlan | null;
}

const CONSOLE_LINES = 2000;

export function attachMachine(sys: SystemState, backend: MachineBackend | undefined, osMarker: string | undefined): void {
  if (!backend) throw new Error(`system ${sys.id}: a machine was asked for, but this emulator has no machine backend (start it with one: lab/machine)`);
  const support = backend.support();
  if (!support.ok) throw new Error(`system ${sys.id}: no machine can back it on this host: ${support.reason}`);
  const state: MachineState = { vm: undefined as unknown as BackingMachine, console: [], events: [], nextEventId: 1, plan: null };
  state.vm = backend.create(sys.id, osMarker !== undefined ? { osMarker } : {}, {
    line: (text) => {
      state.console.push({ at: new Date().toISOString(), text });
      if (state.console.length > CONSOLE_LINES) state.console.splice(0, state.console.length - CONSOLE_LINES);
    },
    milestone: (kind, line) => onMilestone(sys, kind, line),
    exited: (why) => {
      if (sys.power !== "On") return;
      record(sys, "Warning", "System Event", `the host powered off on its own: ${why}`);
      sys.power = "Off";
      setProgress(sys, "None");
    },
  });
  sys.machine = state;
}

/** End of POST on a machine-backed system: the firmware boots `record.booted` on the machine. */
export function bootMachine(sys: SystemState, record: BootRecord): void {
  const m = sys.machine!;
  m.console = [];
  if (record.booted.kind === "setup") {
    // the firmware waits in its setup screen: nothing is booted
    void m.vm.stop();
    setProgress(sys, "SetupEntered");
    return;
  }
  const plan = planFor(sys, record);
  m.plan = plan;
  setProgress(sys, "PCIResourceConfigStarted");
  m.vm.start(plan).catch((err: unknown) => {
    bootFailed(sys, `the machine did not start: ${(err as Error).message}`);
  });
}

export function stopMachine(sys: SystemState): void {
  if (sys.machine) void sys.machine.vm.stop();
}

/** The machine's firmware mode: the mode of the override this boot used, else the BIOS's, else the system's. */
export function machineMode(sys: SystemState, override: BootRecord["override"]): "bios" | "uefi" {
  if (override) return override.mode === "Legacy" ? "bios" : "uefi";
  const attr = sys.bios?.attributes.BootMode;
  if (attr === "Bios") return "bios";
  if (attr === "Uefi") return "uefi";
  return sys.boot.mode === "Legacy" ? "bios" : "uefi";
}

/**
 * What the NIC's ROM is given: the booted iSCSI device, with the secondary target of the function
 * it came from (a NIC function's iSCSIBoot holds both). Any other device gives the machine nothing
 * to boot from the network, and the lab server has no local disk: its firmware says so.
 */
export function planFor(sys: SystemState, record: Pick<BootRecord, "booted" | "override">): MachinePlan {
  const booted = record.booted;
  const mode = machineMode(sys, record.override);
  if (booted.kind !== "iscsi" || booted.targetIp === null) return { mode };
  const targets: MachineTarget[] = [{ iqn: booted.target, address: booted.targetIp, port: booted.port ?? 3260, lun: booted.lun }];
  const fn = booted.functionId ? allFunctions(sys).find((f) => f.id === booted.functionId) : undefined;
  const b = fn?.iscsiBoot;
  if (b && typeof b.SecondaryTargetName === "string" && b.SecondaryTargetName !== "" && typeof b.SecondaryTargetIPAddress === "string" && b.SecondaryTargetIPAddress !== "0.0.0.0") {
    targets.push({ iqn: b.SecondaryTargetName, address: b.SecondaryTargetIPAddress, port: typeof b.SecondaryTargetTCPPort === "number" ? b.SecondaryTargetTCPPort : 3260, lun: Number(b.SecondaryLUN ?? 0) });
  }
  const chap = booted.chap;
  return {
    mode,
    iscsi: {
      initiator: booted.initiator ?? "",
      targets,
      ...(chap?.username && chap.secret ? { chap: { username: chap.username, secret: chap.secret } } : {}),
      ...(chap?.mutualUsername && chap.mutualSecret ? { mutualChap: { username: chap.mutualUsername, secret: chap.mutualSecret } } : {}),
    },
  };
}

function onMilestone(sys: SystemState, kind: Milestone, line: string): void {
  if (sys.power !== "On") return;
  switch (kind) {
    case "firmware":
      return;
    case "loader":
      setProgress(sys, "OSBootStarted");
      return;
    case "os":
      setProgress(sys, "OSRunning");
      return;
    case "failed":
      bootFailed(sys, line);
  }
}

/** A boot that failed, as the firmware reports it to the BMC's event log. */
function bootFailed(sys: SystemState, line: string): void {
  const text = line.trim();
  record(sys, "Critical", "Boot Error", /^boot failed/i.test(text) ? text : `Boot failed: ${text}`);
}

function record(sys: SystemState, severity: EventRecord["severity"], sensorType: string, message: string): void {
  const m = sys.machine!;
  m.events.push({ id: m.nextEventId++, at: new Date().toISOString(), severity, sensorType, message });
}

function setProgress(sys: SystemState, state: string): void {
  sys.bootProgress = state;
  sys.bootProgressAt = new Date().toISOString();
}
