/**
 * Which resources exist under Systems/{id} and Chassis/{id}, and what each one's GET, PATCH and
 * POST do: the system and its Boot (iDRAC10: through Systems/{id}/Settings), the reset action,
 * BootOptions, Bios and its settings (Dell, HPE; Supermicro read-only), HPE's BIOS iSCSI,
 * mappings and EthernetInterfaces, NetworkInterfaces, and the chassis' adapters and functions
 * with their settings (or XCC pending) objects.
 */
import { bootOptions } from "./boot-options";
import { stageDellBios } from "./dell-bios";
import { traits } from "./flavours";
import { biosMappings, ethernetInterface, ethernetInterfaceIds, stageHpeBios } from "./hpe-bios";
import { stageHpe } from "./hpe-iscsi";
import { stageLenovo } from "./lenovo";
import * as logs from "./log-services";
import { LOG_SERVICES } from "./log-services";
import { findFunction, type AdapterState, type SystemState } from "./model";
import { checkFunctionPatch, checkSystemPatch } from "./patch-rules";
import { reset } from "./power";
import { msg } from "./redfish-errors";
import { fail, jobsApi, type Resource, type RouteContext } from "./route-common";
import * as r from "./resources";
import { stageFunction } from "./settings";
import { applyTimeOf } from "./staging";
import * as v from "./vendor-resources";

type Own = (render: () => r.Body) => Resource;

const ownOf = (sys: SystemState): Own => (render) => ({ render, version: () => 0, weak: sys.weakEtags, system: sys });

/** Systems/{id}/... (s: the segments after the id). */
export function resolveSystem(ctx: RouteContext, sys: SystemState, s: string[]): Resource | undefined {
  const own = ownOf(sys);
  const [sub, ...rest] = s;
  if (s.length === 0) {
    return {
      ...own(() => r.computerSystem(sys)),
      version: () => sys.version,
      patch: (b) => checkSystemPatch(sys, b, "system"),
      bump: () => void (sys.version += 1),
    };
  }
  switch (sub) {
    case "Settings":
      return rest.length === 0 ? systemSettings(sys, own) : undefined;
    case "Actions":
      if (rest.length !== 1 || rest[0] !== "ComputerSystem.Reset") return undefined;
      return {
        version: () => 0,
        weak: false,
        system: sys,
        post: (body) => {
          const params = typeof body === "object" && body !== null ? (body as Record<string, unknown>) : {};
          if (sys.faults.resetRefused > 0) {
            sys.faults.resetRefused -= 1;
            return fail(400, msg.actionRefused("ComputerSystem.Reset", "the host is in a state that does not allow it"));
          }
          const outcome = reset(sys, params.ResetType);
          return outcome.ok ? { status: 204 } : fail(outcome.status, ...outcome.messages);
        },
      };
    case "BootOptions": {
      if (rest.length === 0) return own(() => r.collection(r.uris.bootOptions(sys), "BootOption", "Boot Option Collection", bootOptions(sys).map((o) => r.uris.bootOption(sys, o.ref))));
      const option = rest.length === 1 ? bootOptions(sys).find((o) => o.ref === rest[0]) : undefined;
      return option ? own(() => r.bootOption(sys, option)) : undefined;
    }
    case "NetworkInterfaces":
      return sys.links !== "chassis" ? resolveInterfaces(sys, rest, own) : undefined;
    case "EthernetInterfaces": {
      if (sys.flavour !== "hpe") return undefined;
      if (rest.length === 0) return own(() => r.collection(r.uris.ethernetInterfaces(sys), "EthernetInterface", "Ethernet Interface Collection", ethernetInterfaceIds(sys).map((id) => r.uris.ethernetInterface(sys, id))));
      const body = rest.length === 1 ? ethernetInterface(sys, rest[0]!) : undefined;
      return body ? own(() => body) : undefined;
    }
    case "Bios":
      return sys.bios ? resolveBios(ctx, sys, rest) : undefined;
    case "LogServices": {
      if (!sys.machine) return undefined;
      if (rest.length === 0) return own(() => logs.logServices(sys));
      const id = LOG_SERVICES.find((l) => l === rest[0]);
      if (!id || rest.length > 2 || (rest.length === 2 && rest[1] !== "Entries")) return undefined;
      return own(() => (rest.length === 1 ? logs.logService(sys, id) : logs.logEntries(sys, id)));
    }
    default:
      return undefined;
  }
}

/** iDRAC10: Boot is written here, and takes effect at once (used at the next boot). */
function systemSettings(sys: SystemState, own: Own): Resource | undefined {
  const settings = sys.settings;
  if (!settings) return undefined;
  return {
    ...own(() => r.systemSettings(sys)),
    version: () => settings.version + sys.version,
    patch: (b) => {
      const at = applyTimeOf(b, settings.applyTimes);
      if (!at.ok) return at;
      const outcome = checkSystemPatch(sys, b, "settings");
      if (!outcome.ok) return outcome;
      return { ok: true, apply: () => void (outcome.apply(), (settings.version += 1)) };
    },
    bump: () => void (settings.version += 1),
  };
}

function resolveBios(ctx: RouteContext, sys: SystemState, s: string[]): Resource | undefined {
  const bios = sys.bios!;
  const base = { weak: sys.weakEtags, system: sys };
  if (s.length === 0) return { ...base, render: () => v.bios(sys), version: () => bios.version, bump: () => void (bios.version += 1) };
  const [sub, leaf, ...more] = s;
  if (sub === "Settings" && s.length === 1 && bios.settings) {
    const settings = bios.settings;
    return {
      ...base,
      render: () => v.biosSettings(sys),
      version: () => settings.version,
      patch: (b) => (traits(sys.flavour).idrac !== null ? stageDellBios(sys, b, jobsApi(ctx)) : stageHpeBios(sys, b)),
      bump: () => void (settings.version += 1),
    };
  }
  const hpe = sys.hpe;
  if (!hpe) return undefined;
  if (sub === "Mappings" && s.length === 1) return { ...base, render: () => biosMappings(sys), version: () => 0 };
  if (sub !== "iScsi" || more.length > 0) return undefined;
  if (leaf === undefined) return { ...base, render: () => v.hpeIscsi(sys), version: () => hpe.version, bump: () => void (hpe.version += 1) };
  if (leaf !== "Settings") return undefined;
  return {
    ...base,
    render: () => v.hpeIscsiSettings(sys),
    version: () => hpe.settings.version,
    patch: (b) => stageHpe(sys, b),
    bump: () => void (hpe.settings.version += 1),
  };
}

/** Systems/{id}/NetworkInterfaces[/{adapter}[/NetworkDeviceFunctions]]: the system's own adapters only. */
function resolveInterfaces(sys: SystemState, s: string[], own: Own): Resource | undefined {
  const mine = sys.adapters.filter((a) => !a.foreign);
  if (s.length === 0) return own(() => r.collection(r.uris.interfaces(sys), "NetworkInterface", "Network Interface Collection", mine.map((a) => r.uris.iface(sys, a))));
  const adapter = mine.find((a) => a.id === s[0]);
  if (!adapter) return undefined;
  if (s.length === 1) return own(() => r.networkInterface(sys, adapter));
  if (s.length === 2 && s[1] === "NetworkDeviceFunctions") {
    return own(() =>
      r.collection(r.uris.ifaceFunctions(sys, adapter), "NetworkDeviceFunction", "Network Device Function Collection", adapter.functions.map((f) => r.uris.fn(sys, adapter, f))),
    );
  }
  return undefined;
}

/** Chassis/{id}/... (s: the segments after the id). */
export function resolveChassis(ctx: RouteContext, sys: SystemState, s: string[]): Resource | undefined {
  const own = ownOf(sys);
  const [sub, adapterId, sub2, functionId, ...rest] = s;
  if (s.length === 0) return own(() => r.chassis(sys));
  if (sub !== "NetworkAdapters") return undefined;
  if (s.length === 1)
    return own(() => r.collection(r.uris.adapters(sys), "NetworkAdapter", "Network Adapter Collection", sys.adapters.map((a) => r.uris.adapter(sys, a))));
  const adapter: AdapterState | undefined = sys.adapters.find((a) => a.id === adapterId);
  if (!adapter) return undefined;
  if (s.length === 2) return own(() => r.networkAdapter(sys, adapter));
  if (sub2 !== "NetworkDeviceFunctions") return undefined;
  if (s.length === 3)
    return own(() =>
      r.collection(r.uris.functions(sys, adapter), "NetworkDeviceFunction", "Network Device Function Collection", adapter.functions.map((f) => r.uris.fn(sys, adapter, f))),
    );
  const fn = findFunction(sys, adapter.id, functionId!);
  if (!fn) return undefined;
  const settings = fn.settings;
  if (rest.length === 1 && settings && rest[0] === settings.path) {
    return {
      ...own(() => r.functionSettings(sys, fn)),
      version: () => settings.version,
      patch: (b) => (settings.path === "Pending" ? stageLenovo(sys, fn, b) : stageFunction(sys, fn, b, jobsApi(ctx))),
      bump: () => void (settings.version += 1),
    };
  }
  if (rest.length > 0) return undefined;
  return {
    ...own(() => r.networkDeviceFunction(sys, fn)),
    version: () => fn.version,
    // A function with a settings (or pending) object takes changes only there, as iDRAC and XCC do.
    patch: (b) => (settings ? { ok: false, status: 405, messages: [msg.operationNotAllowed(`PATCH the settings object ${r.uris.fnSettings(sys, fn)}`)] } : checkFunctionPatch(sys, fn, b)),
    bump: () => void (fn.version += 1),
  };
}
