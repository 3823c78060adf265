/**
 * Finding things on a BMC by walking links, never by assumed ids: the system in the Systems
 * collection; its NetworkDeviceFunctions through `ComputerSystem.NetworkInterfaces` where the
 * system publishes them (the system then says which functions are its own, and no other is
 * considered), else through its chassis (`Links.Chassis`, else the Chassis collection filtered by
 * `Links.ComputerSystems`, following `Chassis.Links.Contains`) and their NetworkAdapters.
 */
import { SanbootError } from "../errors";
import type { RedfishReply, RedfishTransport } from "./redfish-transport";
import { linkOf, memberLinks, type Chassis, type ComputerSystem, type NetworkAdapter, type NetworkDeviceFunction, type NetworkInterface } from "./redfish-types";

const SYSTEMS = "/redfish/v1/Systems";
const CHASSIS = "/redfish/v1/Chassis";

export interface Found<T> {
  uri: string;
  body: T;
  etag: string | undefined;
}

const lastSegment = (uri: string) => decodeURIComponent(uri.replace(/\/+$/, "").split("/").pop() ?? "");

/** The system's URI, from the Systems collection (its member whose id is `systemId`). */
export async function findSystemUri(t: RedfishTransport, systemId: string): Promise<string> {
  const members = memberLinks((await t.get(SYSTEMS)).body);
  const uri = members.find((m) => lastSegment(m) === systemId);
  if (!uri) {
    throw new SanbootError("BMC_REJECTED", `BMC has no system "${systemId}" (systems: ${members.map(lastSegment).join(", ") || "none"})`);
  }
  return uri;
}

export async function getResource<T>(t: RedfishTransport, uri: string): Promise<Found<T>> {
  const reply: RedfishReply = await t.get(uri);
  return { uri, body: reply.body as T, etag: reply.etag };
}

async function chassisOf(t: RedfishTransport, system: Found<ComputerSystem>): Promise<string[]> {
  const linked = (system.body.Links?.Chassis ?? []).map(linkOf).filter((u): u is string => u !== undefined);
  if (linked.length > 0) return linked;
  const all = memberLinks((await t.get(CHASSIS)).body);
  const mine: string[] = [];
  for (const uri of all) {
    const c = (await t.get(uri)).body as Chassis;
    if ((c.Links?.ComputerSystems ?? []).some((l) => linkOf(l) === system.uri)) mine.push(uri);
  }
  // A single-chassis BMC that does not link its chassis back is common and unambiguous.
  return mine.length > 0 ? mine : all.length === 1 ? all : [];
}

/** Through NetworkInterfaces: undefined when the system publishes none (walk the chassis instead). */
async function functionsOfInterfaces(t: RedfishTransport, system: Found<ComputerSystem>): Promise<string[] | undefined> {
  const interfacesUri = linkOf(system.body.NetworkInterfaces);
  if (!interfacesUri) return undefined;
  const interfaces = memberLinks((await t.get(interfacesUri)).body);
  if (interfaces.length === 0) return undefined;
  const out: string[] = [];
  for (const uri of interfaces) {
    const ni = (await t.get(uri)).body as NetworkInterface;
    const fnsUri = linkOf(ni.NetworkDeviceFunctions);
    if (fnsUri) out.push(...memberLinks((await t.get(fnsUri)).body));
  }
  return [...new Set(out)];
}

/** The URIs of every NetworkDeviceFunction of the system, in link order: the walk alone. */
export async function findFunctionUris(t: RedfishTransport, system: Found<ComputerSystem>): Promise<string[]> {
  const own = await functionsOfInterfaces(t, system);
  if (own) return own;
  const out: string[] = [];
  const seen = new Set<string>();
  const queue = await chassisOf(t, system);
  while (queue.length > 0) {
    const chassisUri = queue.shift()!;
    if (seen.has(chassisUri)) continue;
    seen.add(chassisUri);
    const chassis = (await t.get(chassisUri)).body as Chassis;
    // A chassis may hold the adapters in chassis of its own (a blade in its enclosure, a riser).
    for (const inner of chassis.Links?.Contains ?? []) {
      const u = linkOf(inner);
      if (u) queue.push(u);
    }
    const adaptersUri = linkOf(chassis.NetworkAdapters);
    if (!adaptersUri) continue;
    for (const adapterUri of memberLinks((await t.get(adaptersUri)).body)) {
      const fnsUri = linkOf(((await t.get(adapterUri)).body as NetworkAdapter).NetworkDeviceFunctions);
      if (!fnsUri) continue;
      out.push(...memberLinks((await t.get(fnsUri)).body));
    }
  }
  return out;
}

/** The functions at `uris`, fresh, with their ETags. */
export async function readFunctions(t: RedfishTransport, uris: string[]): Promise<Array<Found<NetworkDeviceFunction>>> {
  const out: Array<Found<NetworkDeviceFunction>> = [];
  for (const fnUri of uris) {
    const fn = await getResource<NetworkDeviceFunction>(t, fnUri);
    out.push({ ...fn, body: { ...fn.body, "@odata.id": fn.body["@odata.id"] ?? fnUri } });
  }
  return out;
}
