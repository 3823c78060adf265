/**
 * The one place that builds a BMC driver. Every vendor speaks Redfish, so one driver serves them
 * all and applies a vendor's quirks object per endpoint (vendors/): the node's `bmc.driver`
 * (`redfish` generic, `idrac` Dell, `ilo` HPE, `xcc` Lenovo) when set, else `auto`, which reads
 * the ServiceRoot and the Manager (vendors/select.ts).
 */
import type { BmcDriverSetting, SanbootBmcDriver } from "./driver";
import { RedfishDriver, type RedfishDriverOptions } from "./redfish-driver";

export { selectVendor, vendorOfSetting, type VendorName } from "./vendors";

export interface CreateBmcDriverOptions extends Omit<RedfishDriverOptions, "driver"> {
  /** for endpoints that carry no `driver` of their own (default auto) */
  driver?: BmcDriverSetting;
}

export function createBmcDriver(opts: CreateBmcDriverOptions = {}): SanbootBmcDriver {
  return new RedfishDriver(opts);
}
