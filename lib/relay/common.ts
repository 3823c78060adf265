/**
 * The parts of the relay protocol (./protocol) that the rest of the service uses without it: the
 * BMC a command is for and the network an iSCSI initiator boots with (the API's request schemas
 * and views), and the steps of a boot sequence (the status view). Kept apart so that a function
 * that validates requests builds these schemas and not the whole protocol's (issue 11, cold
 * start: each zod schema is built when its module loads).
 */
import { z } from "zod/mini";

// zod/mini: the same schemas as zod's classic API, built 2-3x faster (issue 11, cold start)
export const bmcTarget = z.strictObject({
  /** auto: chosen from the BMC's ServiceRoot / Manager (generic Redfish, Dell iDRAC, HPE iLO) */
  driver: z._default(z.enum(["auto", "redfish", "idrac", "ilo", "xcc"]), "auto"),
  /** base URL of the BMC, e.g. https://10.0.0.5:443 */
  address: z.url(),
  /** ComputerSystem id under /redfish/v1/Systems */
  system_id: z.string().check(z.minLength(1)),
  credentials_ref: z.string().check(z.minLength(1)),
  tls: z._default(
    z.strictObject({
      verify: z._default(z.boolean(), true),
    }),
    { verify: true },
  ),
});
export type BmcTarget = z.infer<typeof bmcTarget>;

export const initiatorNetwork = z.discriminatedUnion("mode", [
  z.strictObject({ mode: z.literal("dhcp") }),
  z.strictObject({
    mode: z.literal("static"),
    address: z.string().check(z.minLength(1)),
    netmask: z.string().check(z.minLength(1)),
    gateway: z.optional(z.string().check(z.minLength(1))),
    vlan_id: z.optional(z.int().check(z.minimum(0), z.maximum(4094))),
  }),
]);
export type InitiatorNetwork = z.infer<typeof initiatorNetwork>;

/** The forward steps a boot sequence may carry, in the workflow's order. */
export const SEQUENCE_STEPS = ["configure_firmware", "power_on", "await_boot"] as const;
export type SequenceStep = (typeof SEQUENCE_STEPS)[number];
