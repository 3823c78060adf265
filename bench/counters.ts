/**
 * The load a phase puts on each outside system, read from the lab's own counters: requests the
 * service sent to the state table, API requests the Cinder emulator answered, Redfish requests
 * the BMC emulator answered (all systems), step invocations chained in-process; and how busy
 * this one process was (CPU time, event-loop utilisation), since the whole stack shares it.
 */
import type { LocalStack } from "../lab/local-stack";

export interface Counters {
  at: number;
  dynamodb: number;
  cinder: number;
  bmc: number;
  bmcPatches: number;
  stepInvocations: number;
  /** this process's CPU time, ms (user + system; every part of the stack runs here) */
  cpuMs: number;
  /** the main thread's event loop: busy and idle time, ms (performance.eventLoopUtilization) */
  loopActiveMs: number;
  loopIdleMs: number;
}

/** `cinderRequests`: a real Cinder's count (the recording proxy's); the emulator's by default */
export function readCounters(stack: LocalStack, cinderRequests: () => number = () => stack.cinder.stats().requests): Counters {
  const cpu = process.cpuUsage();
  const loop = performance.eventLoopUtilization();
  let bmc = 0;
  let bmcPatches = 0;
  for (const id of stack.bmc.systemIds()) {
    const s = stack.bmc.system(id);
    bmc += s.requestCount;
    bmcPatches += s.patchCount;
  }
  return {
    at: performance.now(),
    dynamodb: stack.service.deps.store.requestCount,
    cinder: cinderRequests(),
    bmc,
    bmcPatches,
    stepInvocations: stack.service.dispatcher.invocations,
    cpuMs: (cpu.user + cpu.system) / 1000,
    loopActiveMs: loop.active,
    loopIdleMs: loop.idle,
  };
}

export function delta(before: Counters, after: Counters): Counters {
  return {
    at: after.at - before.at,
    dynamodb: after.dynamodb - before.dynamodb,
    cinder: after.cinder - before.cinder,
    bmc: after.bmc - before.bmc,
    bmcPatches: after.bmcPatches - before.bmcPatches,
    stepInvocations: after.stepInvocations - before.stepInvocations,
    cpuMs: after.cpuMs - before.cpuMs,
    loopActiveMs: after.loopActiveMs - before.loopActiveMs,
    loopIdleMs: after.loopIdleMs - before.loopIdleMs,
  };
}
