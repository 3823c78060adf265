/**
 * The lab machine's one error type. `code` is stable so the Redfish emulator can turn it into
 * the answer a BMC would give (a plan it cannot boot is a 400, QEMU missing is a 503 / a power-on
 * that does nothing); `cause` keeps the original error.
 */
export type MachineErrorCode =
  /** qemu-system-x86_64, the iPXE ROMs, OVMF or an image tool is not installed */
  | "UNSUPPORTED"
  /** a plan or image option that cannot be turned into a boot (bad IQN, port, LUN, marker, ...) */
  | "INVALID_PLAN"
  /** QEMU refused to start or died before the firmware put anything out */
  | "QEMU_FAILED"
  /** grub-mkstandalone, mkfs.vfat or mtools failed */
  | "IMAGE_BUILD_FAILED"
  /** qemu-io could not log in to the target or write the image */
  | "ISCSI_WRITE_FAILED"
  /** a console line that was waited for did not come */
  | "TIMEOUT"
  /** the machine was closed */
  | "CLOSED";

export class MachineError extends Error {
  override readonly name = "MachineError";

  constructor(
    readonly code: MachineErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
