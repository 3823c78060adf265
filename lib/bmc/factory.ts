/**
 * The one place that builds a BMC driver. Every vendor speaks Redfish, so one driver serves them
 * all and applies a vendor's quirks per endpoint: the node's `bmc.driver` (`redfish` generic,
 * `idrac` Dell, `ilo` HPE) when set, else `auto`, which reads the ServiceRoot and the Manager
 * (see vendor-select.ts).
 */
import type { BmcDriverSetting, SanbootBmcDriver } from "./driver";
import { RedfishDriver, type RedfishDriverOptions } from "./redfish-driver";

export { selectVendor, vendorOfSetting, type VendorName } from "./vendor-select";

export interface CreateBmcDriverOptions extends Omit<RedfishDriverOptions, "driver"> {
  /** for endpoints that carry no `driver` of their own (default auto) */
  driver?: BmcDriverSetting;
}

export function createBmcDriver(opts: CreateBmcDriverOptions = {}): SanbootBmcDriver {
  return new RedfishDriver(opts);
}
