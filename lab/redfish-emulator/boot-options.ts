/**
 * What a system can boot, as its UEFI firmware enumerates it: the local disk, a PXE option per
 * PXE-capable port, and every SAN device in force (applied, not staged). These are the
 * `BootOptions` members, the paths `UefiTargetBootSourceOverride` may name, and what a boot
 * resolves its override against. A device keeps its `Boot####` reference for as long as it exists
 * (references are handed out by device path, never reused), as firmware keeps its Boot variables.
 */
import { chapOf, type BootDevice } from "./boot-device";
import { dellBiosDevices } from "./dell-bios";
import { hpeDevices } from "./hpe-iscsi";
import type { IscsiBootValues } from "./iscsi-fields";
import { ZERO_WWPN, allFunctions, type BootRecord, type BootedDevice, type FunctionState, type SystemState } from "./model";
import { LOCAL_DISK_PATH, fcPath, iscsiPath, pxePath } from "./uefi-paths";

export interface BootOptionEntry extends BootDevice {
  /** Boot#### (Id and BootOptionReference) */
  ref: string;
}

/** The FC targets a function boots from: HPE only uses them when told to (BootTargetSource). */
function fcInForce(fn: FunctionState): boolean {
  return fn.bootMode === "FibreChannel" && fn.fc !== undefined && (fn.hpeBootTargetSource === undefined || fn.hpeBootTargetSource === "NetworkDeviceFunction");
}

function functionDevices(sys: SystemState): { pxe: BootDevice[]; san: BootDevice[] } {
  const pxe: BootDevice[] = [];
  const san: BootDevice[] = [];
  for (const fn of allFunctions(sys)) {
    if (fn.netDevFuncType === "Ethernet" && fn.mac && fn.bootModes.includes("PXE")) {
      const path = pxePath(fn.pciPath, fn.mac);
      pxe.push({ path, displayName: `PXE ${fn.id}`, san: false, device: { kind: "pxe", functionId: fn.id, mac: fn.mac, path } });
    }
    const b = fn.iscsiBoot;
    if (fn.bootMode === "iSCSI" && typeof b.PrimaryTargetName === "string" && b.PrimaryTargetName !== "") {
      const lun = Number(b.PrimaryLUN ?? 0);
      const path = iscsiPath(fn.pciPath, fn.mac, String(b.InitiatorIPAddress ?? "0.0.0.0"), b.PrimaryTargetName, lun);
      san.push({
        path,
        displayName: `iSCSI ${b.PrimaryTargetName} LUN ${lun} (${fn.id})`,
        san: true,
        device: {
          kind: "iscsi", target: b.PrimaryTargetName, targetIp: str(b.PrimaryTargetIPAddress), port: num(b.PrimaryTargetTCPPort), lun,
          initiator: str(b.InitiatorName), initiatorIp: str(b.InitiatorIPAddress), mac: fn.mac, functionId: fn.id,
          chap: chapOf(b.AuthenticationMethod, b.CHAPUsername, b.CHAPSecret, b.MutualCHAPUsername, b.MutualCHAPSecret), path,
        },
      });
    }
    if (fcInForce(fn)) {
      const targets = fn.fc!.bootTargets.filter((t) => t.WWPN !== ZERO_WWPN).sort((a, b) => a.BootPriority - b.BootPriority);
      for (const t of targets) {
        const path = fcPath(fn.pciPath, t.WWPN, t.LUNID);
        san.push({ path, displayName: `FC ${t.WWPN} LUN ${t.LUNID} (${fn.id})`, san: true, device: { kind: "fc", wwpn: t.WWPN, lun: t.LUNID, functionId: fn.id, initiatorWwpn: fn.fc!.wwpn, path } });
      }
    }
  }
  return { pxe, san };
}

/** Every bootable device, disk first, then PXE, then the SAN devices in force. */
export function bootDevices(sys: SystemState): BootDevice[] {
  const { pxe, san } = functionDevices(sys);
  const disk: BootDevice = { path: LOCAL_DISK_PATH, displayName: "Disk 0: Lab SSD", san: false, device: { kind: "disk", path: LOCAL_DISK_PATH } };
  return [disk, ...pxe, ...san, ...hpeDevices(sys), ...dellBiosDevices(sys)];
}

function refFor(sys: SystemState, path: string): string {
  let n = sys.bootRefs.get(path);
  if (n === undefined) {
    n = sys.bootRefs.size;
    sys.bootRefs.set(path, n);
  }
  return `Boot${n.toString(16).toUpperCase().padStart(4, "0")}`;
}

/** The BootOptions collection, in reference order. */
export function bootOptions(sys: SystemState): BootOptionEntry[] {
  return bootDevices(sys)
    .map((d) => ({ ...d, ref: refFor(sys, d.path) }))
    .sort((a, b) => a.ref.localeCompare(b.ref));
}

/** UefiTargetBootSourceOverride@Redfish.AllowableValues where published: the disk and the SAN devices. */
export function uefiTargets(sys: SystemState): string[] {
  return bootDevices(sys).filter((d) => d.san || d.device.kind === "disk").map((d) => d.path);
}

/** What the firmware boots now: the enabled override's device, else the default order (the disk). */
export function resolveBooted(sys: SystemState): BootedDevice {
  const devices = bootDevices(sys);
  const disk = devices[0]!.device;
  if (sys.boot.enabled === "Disabled") return disk;
  switch (sys.boot.target) {
    case "None":
    case "Hdd":
      return disk;
    case "BiosSetup":
      return { kind: "setup" };
    case "Pxe": {
      // The first port with PXE enabled answers; any PXE-capable one otherwise.
      const pxe = devices.flatMap((d) => (d.device.kind === "pxe" ? [d.device] : []));
      const enabled = pxe.find((d) => allFunctions(sys).find((f) => f.id === d.functionId)?.bootMode === "PXE");
      return enabled ?? pxe[0] ?? { kind: "pxe" };
    }
    case "RemoteDrive":
      return devices.find((d) => d.san)?.device ?? disk;
    case "UefiTarget":
      // A path that names no device any more falls through to the default order, as firmware does.
      return devices.find((d) => d.path === sys.boot.uefiTarget)?.device ?? disk;
    case "UefiBootNext":
      return bootOptions(sys).find((o) => o.ref === sys.boot.bootNext)?.device ?? disk;
    default:
      return { kind: "other", target: sys.boot.target };
  }
}

/** The boot record: the override, the armed SAN configuration, and what was booted. */
export function bootRecord(sys: SystemState): BootRecord {
  const override =
    sys.boot.enabled === "Disabled"
      ? null
      : {
          target: sys.boot.target,
          mode: sys.boot.mode,
          ...(sys.boot.target === "UefiTarget" ? { uefiTarget: sys.boot.uefiTarget } : {}),
          ...(sys.boot.target === "UefiBootNext" ? { bootNext: sys.boot.bootNext } : {}),
        };
  const booted = resolveBooted(sys);
  const iscsi: BootRecord["iscsi"] = allFunctions(sys)
    .filter((f) => f.bootMode === "iSCSI")
    .map((f) => ({ functionId: f.id, mac: f.mac, iscsiBoot: { ...f.iscsiBoot } }));
  // Dell BIOS connections are armed once enabled; an HPE attempt counts when it is what booted.
  for (const d of dellBiosDevices(sys)) if (d.device.kind === "iscsi") iscsi.push(armed(d.device, d.device.functionId ?? ""));
  if (booted.kind === "iscsi" && booted.attempt !== undefined) iscsi.push(armed(booted, `iScsi.Attempt${booted.attempt}`));
  const fc = allFunctions(sys)
    .filter(fcInForce)
    .map((f) => ({ functionId: f.id, wwpn: f.fc!.wwpn, bootTargets: f.fc!.bootTargets.filter((t) => t.WWPN !== ZERO_WWPN).map((t) => ({ ...t })) }));
  return { at: new Date().toISOString(), override, iscsi, ...(fc.length > 0 ? { fc } : {}), booted: structuredClone(booted) };
}

function armed(d: Extract<BootedDevice, { kind: "iscsi" }>, functionId: string): BootRecord["iscsi"][number] {
  const iscsiBoot: IscsiBootValues = {
    InitiatorName: d.initiator,
    InitiatorIPAddress: d.initiatorIp,
    PrimaryTargetName: d.target,
    PrimaryTargetIPAddress: d.targetIp,
    PrimaryTargetTCPPort: d.port,
    PrimaryLUN: d.lun,
    AuthenticationMethod: d.chap ? (d.chap.mutualUsername !== null || d.chap.mutualSecret !== null ? "MutualCHAP" : "CHAP") : "None",
    CHAPUsername: d.chap?.username ?? null,
    CHAPSecret: d.chap?.secret ?? null,
    MutualCHAPUsername: d.chap?.mutualUsername ?? null,
    MutualCHAPSecret: d.chap?.mutualSecret ?? null,
  };
  return { functionId, mac: d.mac, iscsiBoot };
}

const str = (v: unknown) => (typeof v === "string" ? v : null);
const num = (v: unknown) => (typeof v === "number" ? v : null);
