/**
 * UEFI device paths (text form) of the devices a system can boot. A path starts at the port's PCI
 * position and names what distinguishes the device (MAC, initiator address, target, LUN, WWPN),
 * so two devices never share a path and a changed target is a new device, as in firmware.
 */

export const LOCAL_DISK_PATH = "PciRoot(0x0)/Pci(0x17,0x0)/Sata(0x0,0xFFFF,0x0)/HD(1,GPT,5B4B2B1B-1111-2222-3333-444455556666,0x800,0x100000)";

const macHex = (mac: string) => mac.replace(/:/g, "");

export function iscsiPath(portPath: string, mac: string, initiatorIp: string, target: string, lun: number): string {
  return `${portPath}/MAC(${macHex(mac)},0x1)/IPv4(${initiatorIp})/iSCSI(${target},0x1,0x${lun.toString(16)},None,None,None,TCP)`;
}

export function fcPath(portPath: string, wwpn: string, lun: string): string {
  return `${portPath}/FibreEx(0x${wwpn.replace(/:/g, "")},0x${Number(lun).toString(16).padStart(16, "0")})`;
}

export function pxePath(portPath: string, mac: string): string {
  return `${portPath}/MAC(${macHex(mac)},0x1)/IPv4(0.0.0.0)`;
}
