export { startRedfishEmulator, type RedfishEmulator, type RedfishEmulatorOptions } from "./server";
export type { SystemSnapshot, FunctionSnapshot } from "./registry";
export type { Faults, SystemSpec, PowerState, Flavour, FcBootTarget } from "./model";
export { ensureLabTls, DEFAULT_TLS_DIR, type LabTls } from "./tls";
