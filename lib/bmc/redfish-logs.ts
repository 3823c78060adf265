/**
 * What a BMC's logs say about the boot power_on started: a firmware `Boot Error` in an event log
 * (IPMI SEL semantics, as LogEntry.SensorType names it) since the system's last reset fails the
 * wait at once instead of at its deadline, with the host console's last lines as evidence where
 * the BMC captures the console (OpenBMC's HostLogger: LogEntry OemRecordFormat "Host Logger").
 * Reads only; a BMC without LogServices is not asked.
 */
import type { RedfishTransport } from "./redfish-transport";
import type { ComputerSystem, ODataLink } from "./redfish-types";

interface LogEntry {
  Id?: string;
  EntryType?: string;
  SensorType?: string;
  Severity?: string;
  Created?: string;
  Message?: string;
  OemRecordFormat?: string;
}

interface LogService {
  "@odata.id"?: string;
  Id?: string;
  LogEntryType?: string;
  Entries?: ODataLink;
}

export interface BootLogs {
  /** event logs (SEL) to look for boot errors in */
  events: string[];
  /** a log of the host's console, where there is one */
  console?: string;
}

const linkOf = (l: ODataLink | undefined) => (l && typeof l["@odata.id"] === "string" ? l["@odata.id"] : undefined);

/** The system's log services that can say a boot failed, and its console log; undefined without LogServices. */
export async function findBootLogs(t: RedfishTransport, system: ComputerSystem): Promise<BootLogs | undefined> {
  const uri = linkOf((system as { LogServices?: ODataLink }).LogServices);
  if (!uri) return undefined;
  const members = ((await t.get(uri)).body as { Members?: ODataLink[] }).Members ?? [];
  const logs: BootLogs = { events: [] };
  for (const m of members) {
    const at = linkOf(m);
    if (!at) continue;
    const svc = (await t.get(at)).body as LogService;
    const entries = linkOf(svc.Entries);
    if (!entries) continue;
    if (svc.Id === "HostLogger") logs.console = entries;
    else if (svc.LogEntryType === "SEL" || svc.LogEntryType === "Multiple" || /^(SEL|EventLog|Log1|IML|Sel)$/i.test(svc.Id ?? "")) logs.events.push(entries);
  }
  return logs;
}

async function entries(t: RedfishTransport, uri: string): Promise<LogEntry[]> {
  return ((await t.get(uri)).body as { Members?: LogEntry[] }).Members ?? [];
}

const after = (e: LogEntry, since: number | undefined) => since === undefined || (e.Created !== undefined && Date.parse(e.Created) >= since);

/** Boot errors recorded since `since` (the BMC's clock, ms); with no time to go by, those not in `seen`. */
export function bootErrors(list: LogEntry[], since: number | undefined, seen: Set<string>): LogEntry[] {
  return list.filter((e) => /^boot ?error$/i.test(e.SensorType ?? "") && (since !== undefined ? after(e, since) : !seen.has(e.Id ?? "")));
}

/** Console lines that look like they carry a secret are not repeated. */
const SECRET_LINE = /(pass(word)?|secret|chap)\s*[:=]/i;

/**
 * The first boot error since the system's last reset, with the console's last `lines` lines since
 * then; undefined when there is none. `seen` holds the ids present before, for BMCs without
 * LastResetTime.
 */
export async function bootFailure(t: RedfishTransport, logs: BootLogs, system: ComputerSystem, seen: Set<string>, lines = 12): Promise<string | undefined> {
  const reset = typeof system.LastResetTime === "string" ? Date.parse(system.LastResetTime) : Number.NaN;
  const since = Number.isFinite(reset) ? reset : undefined;
  for (const uri of logs.events) {
    const found = bootErrors(await entries(t, uri), since, seen);
    if (found.length === 0) continue;
    const first = found[0]!.Message ?? found[0]!.SensorType ?? "boot error";
    const said = found.length > 1 ? `${first} (and ${found.length - 1} more boot error${found.length > 2 ? "s" : ""} after it)` : first;
    if (!logs.console) return said;
    const tail = (await entries(t, logs.console))
      .filter((e) => after(e, since))
      .map((e) => (e.Message ?? "").trimEnd())
      .filter((l) => l.length > 0)
      .map((l) => (SECRET_LINE.test(l) ? "[a line naming a secret, not repeated]" : l))
      .slice(-lines);
    return tail.length > 0 ? `${said}; the console showed: ${tail.join(" | ")}` : said;
  }
  return undefined;
}

/** Ids of the boot errors already in the event logs (for BMCs that do not say when they last reset). */
export async function knownBootErrors(t: RedfishTransport, logs: BootLogs): Promise<Set<string>> {
  const ids = new Set<string>();
  for (const uri of logs.events) for (const e of bootErrors(await entries(t, uri), undefined, new Set())) if (e.Id) ids.add(e.Id);
  return ids;
}
