/**
 * The parts of the relay protocol (./protocol) that the rest of the service uses without it: the
 * BMC a command is for and the network an iSCSI initiator boots with (the API's request schemas
 * and views), and the steps of a boot sequence (the status view). Kept apart so that a function
 * that validates requests builds these schemas and not the whole protocol's (issue 11, cold
 * start: each zod schema is built when its module loads).
 */
import { z } from "zod";

export const bmcTarget = z.strictObject({
  /** auto: chosen from the BMC's ServiceRoot / Manager (generic Redfish, Dell iDRAC, HPE iLO) */
  driver: z.enum(["auto", "redfish", "idrac", "ilo", "xcc"]).default("auto"),
  /** base URL of the BMC, e.g. https://10.0.0.5:443 */
  address: z.string().url(),
  /** ComputerSystem id under /redfish/v1/Systems */
  system_id: z.string().min(1),
  credentials_ref: z.string().min(1),
  tls: z
    .strictObject({
      verify: z.boolean().default(true),
    })
    .default({ verify: true }),
});
export type BmcTarget = z.infer<typeof bmcTarget>;

export const initiatorNetwork = z.discriminatedUnion("mode", [
  z.strictObject({ mode: z.literal("dhcp") }),
  z.strictObject({
    mode: z.literal("static"),
    address: z.string().min(1),
    netmask: z.string().min(1),
    gateway: z.string().min(1).optional(),
    vlan_id: z.number().int().min(0).max(4094).optional(),
  }),
]);
export type InitiatorNetwork = z.infer<typeof initiatorNetwork>;

/** The forward steps a boot sequence may carry, in the workflow's order. */
export const SEQUENCE_STEPS = ["configure_firmware", "power_on", "await_boot"] as const;
export type SequenceStep = (typeof SEQUENCE_STEPS)[number];
