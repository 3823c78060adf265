export { startRedfishEmulator, type RedfishEmulator, type RedfishEmulatorOptions } from "./server";
export type { SystemSnapshot, FunctionSnapshot } from "./registry";
export type { Faults, SystemSpec, PowerState, Flavour, FcBootTarget, BootedDevice, BootRecord } from "./model";
export { FLAVOURS } from "./flavours";
export { ensureLabTls, DEFAULT_TLS_DIR, type LabTls } from "./tls";
