/**
 * Systems/{id}/LogServices of a machine-backed system: the event log (SEL), where the firmware's
 * boot errors land as IPMI-style entries (`SensorType` "Boot Error"), and the host's serial
 * console as OpenBMC serves it (`HostLogger`: one entry per console line, `OemRecordFormat`
 * "Host Logger"). Collections carry their members whole, as OpenBMC's do, so a reader needs one
 * GET per log.
 */
import type { SystemState } from "./model";
import type { Body } from "./resources";
import { collection } from "./resources";
import { uris } from "./uris";

export const LOG_SERVICES = ["EventLog", "HostLogger"] as const;
export type LogServiceId = (typeof LOG_SERVICES)[number];

export function logServices(s: SystemState): Body {
  return collection(uris.logServices(s), "LogService", "System Log Services", LOG_SERVICES.map((id) => uris.logService(s, id)));
}

export function logService(s: SystemState, id: LogServiceId): Body {
  return {
    "@odata.id": uris.logService(s, id),
    "@odata.type": "#LogService.v1_3_0.LogService",
    Id: id,
    Name: id === "EventLog" ? "System Event Log Service" : "Host Console Logs",
    LogEntryType: id === "EventLog" ? "SEL" : "OEM",
    OverWritePolicy: "WrapsWhenFull",
    ServiceEnabled: true,
    Entries: { "@odata.id": uris.logEntries(s, id) },
  };
}

export function logEntries(s: SystemState, id: LogServiceId): Body {
  const m = s.machine!;
  const base = uris.logEntries(s, id);
  const members =
    id === "EventLog"
      ? m.events.map((e) => ({
          "@odata.id": `${base}/${e.id}`,
          "@odata.type": "#LogEntry.v1_9_0.LogEntry",
          Id: String(e.id),
          Name: "System Event Log Entry",
          EntryType: "SEL",
          SensorType: e.sensorType,
          Severity: e.severity,
          Created: e.at,
          Message: e.message,
        }))
      : m.console.map((l, i) => ({
          "@odata.id": `${base}/${i + 1}`,
          "@odata.type": "#LogEntry.v1_9_0.LogEntry",
          Id: String(i + 1),
          Name: "Host Logger Entry",
          EntryType: "Oem",
          OemRecordFormat: "Host Logger",
          Created: l.at,
          Message: l.text,
        }));
  return { "@odata.id": base, "@odata.type": "#LogEntryCollection.LogEntryCollection", Name: `${id} Entries`, Members: members, "Members@odata.count": members.length };
}
