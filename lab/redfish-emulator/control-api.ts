/**
 * The lab's test control API under /_lab (plain JSON, no auth, same server): add systems, read a
 * system's full state (secrets included), count PATCHes, switch faults. Only tests and `npm start`
 * call it; a real BMC has nothing like it.
 */
import { z } from "zod";
import { FLAVOURS } from "./flavours";
import type { SystemRegistry } from "./registry";

export interface ControlResponse {
  status: number;
  body?: unknown;
  contentType?: string;
}

const systemSpec = z.strictObject({
  id: z.string().regex(/^[A-Za-z0-9._-]+$/).optional(),
  mac: z.string().regex(/^([0-9A-Fa-f]{2}[:-]?){5}[0-9A-Fa-f]{2}$/).optional(),
  username: z.string().optional(),
  password: z.string().optional(),
  powerState: z.enum(["On", "Off"]).optional(),
  bootTargets: z.array(z.string()).optional(),
  resetTypes: z.array(z.string()).optional(),
  linkChassis: z.boolean().optional(),
  links: z.enum(["all", "interfaces", "chassis"]).optional(),
  operatorConfig: z.boolean().optional(),
  bootOverride: z.strictObject({ target: z.string(), enabled: z.enum(["Disabled", "Once", "Continuous"]), mode: z.enum(["UEFI", "Legacy"]).optional() }).optional(),
  weakEtags: z.boolean().optional(),
  remoteDrive: z.boolean().optional(),
  flavour: z.enum(FLAVOURS).optional(),
  fcPorts: z.number().int().min(0).max(8).optional(),
  converged: z.boolean().optional(),
  applyTimes: z.array(z.string()).optional(),
  dellBiosIscsi: z.boolean().optional(),
  hpeBios: z.record(z.string(), z.string()).optional(),
  machine: z.union([z.boolean(), z.strictObject({ osMarker: z.string().min(1).optional() })]).optional(),
});

export const faultsSpec = z.strictObject({
  latencyMs: z.number().int().min(0).optional(),
  failNext: z.number().int().min(0).optional(),
  failStatus: z.number().int().min(500).max(599).optional(),
  dropNext: z.number().int().min(0).optional(),
  etagMismatchOnce: z.boolean().optional(),
  maxSessions: z.number().int().min(0).optional(),
  sessionLimitStatus: z.union([z.literal(401), z.literal(503)]).optional(),
  settingsFailOnReset: z.boolean().optional(),
  lcNotReady: z.number().int().min(0).optional(),
  resetRefused: z.number().int().min(0).optional(),
});

export function control(
  registry: SystemRegistry,
  caPem: string,
  method: string,
  segments: string[],
  body: unknown,
): ControlResponse {
  const [first, id, sub] = segments;
  if (first === "ca.pem" && segments.length === 1 && method === "GET") {
    return { status: 200, body: caPem, contentType: "application/x-pem-file" };
  }
  if (first !== "systems") return notFound();
  if (segments.length === 1) {
    if (method === "GET") return { status: 200, body: { systems: registry.all().map((s) => s.id) } };
    if (method === "POST") {
      const spec = systemSpec.safeParse(body ?? {});
      if (!spec.success) return { status: 400, body: { error: z.prettifyError(spec.error) } };
      try {
        return { status: 201, body: registry.snapshot(registry.add(spec.data).id) };
      } catch (err) {
        return { status: 409, body: { error: (err as Error).message } };
      }
    }
    return { status: 405 };
  }
  if (!registry.get(id!)) return notFound();
  if (segments.length === 2 && method === "GET") return { status: 200, body: registry.snapshot(id!) };
  if (segments.length === 3 && sub === "patches" && method === "GET") {
    const snap = registry.snapshot(id!);
    return { status: 200, body: { count: snap.patchCount, patches: snap.patches } };
  }
  if (segments.length === 3 && sub === "faults") {
    if (method === "DELETE") {
      registry.clearFaults(id!);
      return { status: 204 };
    }
    if (method === "PUT" || method === "POST") {
      const spec = faultsSpec.safeParse(body ?? {});
      if (!spec.success) return { status: 400, body: { error: z.prettifyError(spec.error) } };
      return { status: 200, body: registry.setFaults(id!, spec.data) };
    }
  }
  return notFound();
}

function notFound(): ControlResponse {
  return { status: 404, body: { error: "not found" } };
}
