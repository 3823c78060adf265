/**
 * A bootable device as the firmware enumerates it, whoever configured it (a NIC function, HPE's
 * BIOS attempts, Dell's BIOS connections): its UEFI path, and what booting it means.
 */
import type { BootedDevice } from "./model";

export interface BootDevice {
  path: string;
  displayName: string;
  /** a SAN device (what RemoteDrive means) */
  san: boolean;
  device: BootedDevice;
}

type Chap = Extract<BootedDevice, { kind: "iscsi" }>["chap"];

/** The CHAP credentials a boot presents under an authentication method (null: none). */
export function chapOf(method: unknown, username: unknown, secret: unknown, mutualUsername: unknown, mutualSecret: unknown): Chap {
  if (method !== "CHAP" && method !== "MutualCHAP") return null;
  const s = (v: unknown) => (typeof v === "string" ? v : null);
  const mutual = method === "MutualCHAP";
  return { username: s(username), secret: s(secret), mutualUsername: mutual ? s(mutualUsername) : null, mutualSecret: mutual ? s(mutualSecret) : null };
}
