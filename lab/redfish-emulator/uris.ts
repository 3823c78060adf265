/**
 * Where every resource of an emulated system lives. One place, so the router, the renderers and
 * the jobs that name a settings object agree on the URI.
 */
import { traits } from "./flavours";
import type { AdapterState, FunctionState, Job, SystemState } from "./model";

const V1 = "/redfish/v1";
export const IDRAC = `${V1}/Managers/iDRAC.Embedded.1`;

export const uris = {
  system: (s: SystemState) => `${V1}/Systems/${s.id}`,
  systemSettings: (s: SystemState) => `${V1}/Systems/${s.id}/Settings`,
  reset: (s: SystemState) => `${V1}/Systems/${s.id}/Actions/ComputerSystem.Reset`,
  bootOptions: (s: SystemState) => `${V1}/Systems/${s.id}/BootOptions`,
  logServices: (s: SystemState) => `${V1}/Systems/${s.id}/LogServices`,
  logService: (s: SystemState, id: string) => `${V1}/Systems/${s.id}/LogServices/${id}`,
  logEntries: (s: SystemState, id: string) => `${V1}/Systems/${s.id}/LogServices/${id}/Entries`,
  bootOption: (s: SystemState, ref: string) => `${V1}/Systems/${s.id}/BootOptions/${ref}`,
  chassis: (s: SystemState) => `${V1}/Chassis/${s.id}`,
  adapters: (s: SystemState) => `${V1}/Chassis/${s.id}/NetworkAdapters`,
  adapter: (s: SystemState, a: AdapterState) => `${V1}/Chassis/${s.id}/NetworkAdapters/${a.id}`,
  functions: (s: SystemState, a: AdapterState) => `${uris.adapter(s, a)}/NetworkDeviceFunctions`,
  fn: (s: SystemState, a: { id: string }, f: FunctionState) =>
    `${V1}/Chassis/${s.id}/NetworkAdapters/${a.id}/NetworkDeviceFunctions/${f.id}`,
  /** the function's settings object: `/Settings`, or XCC's `/Pending` */
  fnSettings: (s: SystemState, f: FunctionState) => `${uris.fn(s, { id: f.adapterId }, f)}/${f.settings?.path ?? "Settings"}`,
  manager: (s: SystemState) =>
    traits(s.flavour).idrac !== null ? IDRAC : s.flavour === "hpe" ? `${V1}/Managers/1` : `${V1}/Managers/BMC-${s.id}`,
  bios: (s: SystemState) => `${V1}/Systems/${s.id}/Bios`,
  biosSettings: (s: SystemState) => `${V1}/Systems/${s.id}/Bios/Settings`,
  biosMappings: (s: SystemState) => `${V1}/Systems/${s.id}/Bios/Mappings`,
  hpeIscsi: (s: SystemState) => `${V1}/Systems/${s.id}/Bios/iScsi`,
  hpeIscsiSettings: (s: SystemState) => `${V1}/Systems/${s.id}/Bios/iScsi/Settings`,
  interfaces: (s: SystemState) => `${V1}/Systems/${s.id}/NetworkInterfaces`,
  iface: (s: SystemState, a: AdapterState) => `${V1}/Systems/${s.id}/NetworkInterfaces/${a.id}`,
  ifaceFunctions: (s: SystemState, a: AdapterState) => `${V1}/Systems/${s.id}/NetworkInterfaces/${a.id}/NetworkDeviceFunctions`,
  ethernetInterfaces: (s: SystemState) => `${V1}/Systems/${s.id}/EthernetInterfaces`,
  ethernetInterface: (s: SystemState, id: string) => `${V1}/Systems/${s.id}/EthernetInterfaces/${id}`,
  /** the Dell job collection of an iDRAC generation */
  dellJobs: (idrac: 9 | 10) => (idrac === 9 ? `${IDRAC}/Jobs` : `${IDRAC}/Oem/Dell/Jobs`),
  lcService: () => `${IDRAC}/Oem/Dell/DellLCService`,
  lcStatusAction: () => `${IDRAC}/Oem/Dell/DellLCService/Actions/DellLCService.GetRemoteServicesAPIStatus`,
  tasks: () => `${V1}/TaskService/Tasks`,
  task: (j: Job) => `${V1}/TaskService/Tasks/${j.id}`,
  taskMonitor: (j: Job) => `${V1}/TaskService/TaskMonitors/${j.id}`,
  /** a Dell job as a DellJob resource */
  job: (j: Job) => `${uris.dellJobs(j.idrac ?? 9)}/${j.id}`,
  /** what a 202 names: iDRAC9 the job, iDRAC10 and generic-settings a task monitor */
  jobLocation: (j: Job) => (j.kind === "dell-job" && j.idrac === 9 ? uris.job(j) : uris.taskMonitor(j)),
};
