/**
 * Renders what only some BMCs serve: Dell jobs (as DellJob and as iDRAC10 Task), the Lifecycle
 * Controller service, generic-settings tasks, BIOS attributes and their settings objects, and
 * HPE's BIOS UEFI iSCSI initiator.
 */
import { publicAttributes } from "./bios";
import { renderAttempt } from "./hpe-iscsi";
import type { Job, SystemState } from "./model";
import type { Body } from "./resources";
import { settingsAnnotation } from "./staging";
import { uris } from "./uris";

const percent = (j: Job) => (j.state === "Completed" || j.state === "Failed" ? 100 : 0);

export function dellJob(j: Job): Body {
  return {
    "@odata.id": uris.job(j),
    "@odata.type": "#DellJob.v1_5_0.DellJob",
    Id: j.id,
    Name: j.jobType === "BIOSConfiguration" ? "Configure: BIOS.Setup.1-1" : "Configure: NIC / FC",
    JobType: j.jobType ?? "NICConfiguration",
    JobState: j.state,
    Message: j.message,
    MessageId: j.messageId,
    MessageArgs: [],
    PercentComplete: percent(j),
    TargetSettingsURI: j.target,
  };
}

const TASK_STATE: Record<Job["state"], string> = { Scheduled: "Pending", Running: "Running", Completed: "Completed", Failed: "Exception" };

/** A generic-settings task, or an iDRAC10 job seen through the TaskService (Oem.Dell carries the job). */
export function task(j: Job): Body {
  const dell = j.kind === "dell-job";
  return {
    "@odata.id": uris.task(j),
    "@odata.type": "#Task.v1_7_0.Task",
    Id: j.id,
    Name: dell ? "Configuration job" : "Apply settings",
    TaskState: dell ? TASK_STATE[j.state] : j.state,
    TaskStatus: j.state === "Failed" ? "Critical" : "OK",
    PercentComplete: percent(j),
    Messages: [{ MessageId: j.messageId, Message: j.message }],
    Payload: { TargetUri: j.target, HttpOperation: "PATCH" },
    ...(dell ? { Oem: { Dell: { "@odata.type": "#DellJob.v1_5_0.DellJob", ...pick(dellJob(j)) } } } : {}),
  };
}

function pick(b: Body): Body {
  const { "@odata.id": _id, "@odata.type": _type, ...rest } = b;
  return rest;
}

export function lcService(): Body {
  return {
    "@odata.id": uris.lcService(),
    "@odata.type": "#DellLCService.v1_6_0.DellLCService",
    Id: "DellLCService",
    Name: "DellLCService",
    Actions: {
      "#DellLCService.GetRemoteServicesAPIStatus": { target: uris.lcStatusAction() },
    },
  };
}

export function bios(s: SystemState): Body {
  const b = s.bios!;
  return {
    "@odata.id": uris.bios(s),
    "@odata.type": "#Bios.v1_2_0.Bios",
    Id: "Bios",
    Name: "BIOS Current Settings",
    AttributeRegistry: s.flavour === "hpe" ? "BiosAttributeRegistryU32.v1_2_68" : s.flavour === "supermicro" ? "BiosAttributeRegistry.v1_0_0" : "BiosAttributeRegistry.v1_0_3",
    Attributes: publicAttributes(b.attributes),
    ...(b.settings ? { "@Redfish.Settings": settingsAnnotation(b.settings, uris.biosSettings(s)) } : {}),
    ...(s.flavour === "hpe" ? { Oem: { Hpe: { Links: { iScsi: { "@odata.id": uris.hpeIscsi(s) }, Mappings: { "@odata.id": uris.biosMappings(s) } } } } } : {}),
  };
}

/** Bios/Settings: the attributes staged for the next POST (secrets null). */
export function biosSettings(s: SystemState): Body {
  return {
    "@odata.id": uris.biosSettings(s),
    "@odata.type": "#Bios.v1_2_0.Bios",
    Id: "Settings",
    Name: "BIOS Pending Settings",
    Attributes: publicAttributes(s.bios!.pending ?? {}),
  };
}

export function hpeIscsi(s: SystemState): Body {
  const h = s.hpe!;
  return {
    "@odata.id": uris.hpeIscsi(s),
    "@odata.type": "#HpeiSCSISoftwareInitiator.v2_0_0.HpeiSCSISoftwareInitiator",
    Id: "iScsi",
    Name: "iSCSI Software Initiator Current Settings",
    iSCSIInitiatorName: h.initiatorName,
    iSCSINicSources: h.nicSources,
    iSCSISources: h.sources.map(renderAttempt),
    // iLO renders Time and ETag as "" until an apply sets them (HPE proliantutils json_samples/iscsi.json)
    "@Redfish.Settings": { ETag: "", Time: "", ...settingsAnnotation(h.settings, uris.hpeIscsiSettings(s)) },
  };
}

/** The settings object: what is staged (attempts left alone are `{}`), secrets null. */
export function hpeIscsiSettings(s: SystemState): Body {
  const p = s.hpe!.pending;
  return {
    "@odata.id": uris.hpeIscsiSettings(s),
    "@odata.type": "#HpeiSCSISoftwareInitiator.v2_0_0.HpeiSCSISoftwareInitiator",
    Id: "Settings",
    Name: "iSCSI Software Initiator Pending Settings",
    ...(p?.initiatorName !== undefined ? { iSCSIInitiatorName: p.initiatorName } : {}),
    ...(p?.sources ? { iSCSISources: p.sources.map((a) => (a ? renderAttempt(a) : {})) } : {}),
  };
}
