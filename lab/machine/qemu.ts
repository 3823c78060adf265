/**
 * The lab's real machine: a QEMU VM behind the lab BMC that boots from iSCSI as the BMC set it
 * up. What the Redfish emulator imports; the pieces live in the files named below.
 */
export { qemuSupport, type QemuParts, type QemuSupport, type QemuSupportOptions, type MissingPart } from "./qemu-support";
export { ipxeScript, guestForwards, sanUri, ipxeLun, ipxeHex, checkIscsiPlan, type IscsiBootPlan, type IscsiTarget, type ChapCredentials, type GuestForward } from "./ipxe-script";
export { consoleMilestone, DEFAULT_OS_MARKER, type ConsoleMilestone, type Milestone } from "./console-milestones";
export { ConsoleLines } from "./console-lines";
export { qemuArgs, type BootMode, type MachinePlan } from "./qemu-args";
export { QemuMachine, type ConsoleLine, type MachineExit, type QemuMachineOptions } from "./qemu-machine";
export { MachineError, type MachineErrorCode } from "./machine-errors";
