/**
 * The evidence of a request's BMC writes as the relay protocol (./protocol) carries it: each claim
 * and the power state, recorded before each write. Apart from the protocol so that the step that
 * reads a command's end (lib/service/steps/relay-step.ts, in the attach and firmware functions)
 * builds these schemas and not the whole protocol's (issue 11, cold start).
 */
import { z } from "zod/mini";

/** Any JSON value; one instance, so the OpenAPI document can name this recursive schema once. */
export const jsonValue = z.json();

/** A claim (lib/bmc/claims.ts): what sanboot wrote at one place on a BMC, and what was there before. */
export const claim = z.strictObject({
  kind: z.enum(["nic_iscsi", "nic_fc", "hpe_bios_iscsi", "dell_bios_iscsi", "bios_attributes", "boot_override"]),
  uri: z.string().check(z.minLength(1)),
  wrote: z.record(z.string(), jsonValue),
  before: z.record(z.string(), jsonValue),
  secrets: z.array(z.string()),
  identity: z.array(z.string()),
  jobs: z.optional(z.array(z.string())),
  since: z.optional(z.strictObject({ time: z.optional(z.string()), etag: z.optional(z.string()) })),
});

const powerState = z.enum(["On", "Off", "PoweringOn", "PoweringOff"]);
const bootMarks = z.strictObject({
  last_reset_time: z.optional(z.string()),
  boot_progress: z.optional(z.string()),
  boot_progress_time: z.optional(z.string()),
});

/** The evidence of a request's BMC writes: recorded before each write, the grounds of every undo. */
export const bmcEvidence = z.strictObject({
  claims: z._default(z.array(claim), []),
  power: z.optional(z.strictObject({ before: powerState, reset_at: z.optional(z.string()), marks: z.optional(bootMarks) })),
});
