/**
 * Steps carried out by the firmware function. Each hands one command to the site's relay and
 * waits for its outcome: the first run enqueues, later runs (chained by the relay's report, or
 * by the sweeper) read the outcome. The command id is derived from request, step and attempt,
 * so a step run twice enqueues once.
 */
import type { Deps } from "../../deps";
import { SanbootError } from "../../errors";
import type { KeyObject } from "node:crypto";
import { sealCommand } from "../../relay/command-secrets";
import { parseSitePublicKey } from "../../relay/site-seal";
import type { CommandBody } from "../../relay/protocol";
import type { BootRequestRecord, CommandRecord, NodeRecord } from "../../store/records";
import { STEP_POLICY, type StepName } from "../../workflow";
import type { StepImpl, StepOutcome } from "./step";

const siteKeys = new Map<string, KeyObject>();
function siteKeyOf(deps: Deps, site: string): KeyObject | undefined {
  const pem = deps.config.SANBOOT_SITE_KEYS[site];
  if (!pem) return undefined;
  if (!siteKeys.has(pem)) siteKeys.set(pem, parseSitePublicKey(pem));
  return siteKeys.get(pem);
}

export const commandIdFor = (req: BootRequestRecord, step: StepName): string => `${req.request_id}.${step}.${req.attempts + 1}`;

async function viaRelay(deps: Deps, req: BootRequestRecord, step: StepName, body: () => CommandBody | Promise<CommandBody>): Promise<StepOutcome> {
  const now = deps.clock.now();
  const commandId = commandIdFor(req, step);
  const recheckAt = new Date(now.getTime() + STEP_POLICY[step].redispatchAfterMs).toISOString();
  const cmd = await deps.store.getCommand(commandId);
  if (!cmd) {
    // a previous attempt's command must not run after this one is queued
    if (req.command_id && req.command_id !== commandId) await deps.store.cancelCommand(req.command_id, now.toISOString());
    const record: CommandRecord = {
      command_id: commandId,
      site: req.site,
      request_id: req.request_id,
      step,
      attempt: req.attempts + 1,
      body: await sealCommand(await body(), deps.secrets, commandId, siteKeyOf(deps, req.site)),
      status: "queued",
      lease_owner: null,
      lease_token: null,
      lease_expires_at: null,
      leases: 0,
      outcome: null,
      created_at: now.toISOString(),
      updated_at: now.toISOString(),
    };
    await deps.store.enqueueCommand(record);
    return { event: { type: "step_waiting", step, recheck_at: recheckAt }, patch: { command_id: commandId } };
  }
  switch (cmd.status) {
    case "succeeded":
      return { event: { type: "step_succeeded", step }, patch: { command_id: null } };
    case "failed": {
      const e = cmd.outcome && !cmd.outcome.ok ? cmd.outcome.error : { code: "INTERNAL", message: "the relay reported a failure", retryable: true };
      return {
        event: { type: "step_failed", step, error: { code: e.code as SanbootError["code"], message: e.message, retryable: e.retryable } },
        patch: { command_id: null },
      };
    }
    case "cancelled":
      return { event: { type: "step_failed", step, error: { code: "RELAY_TIMEOUT", message: "the relay command was withdrawn", retryable: true } }, patch: { command_id: null } };
    default:
      return { event: { type: "step_waiting", step, recheck_at: recheckAt }, patch: { command_id: commandId } };
  }
}

function portalParts(portal: string): { address: string; port: number } {
  const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(portal);
  if (!m) return { address: portal, port: 3260 };
  return { address: m[1]!, port: Number(m[2]) };
}

export async function sanBootBody(req: BootRequestRecord, node: NodeRecord, deps: Deps): Promise<CommandBody> {
  const t = req.target;
  if (!t) throw new SanbootError("INTERNAL", "configure_firmware ran without a Cinder target");
  const secret = t.auth_password_sealed ? await deps.secrets.open(t.auth_password_sealed) : null;
  return {
    type: "configure_san_boot",
    bmc: node.bmc,
    iscsi: {
      ...(node.mac_address ? { mac_address: node.mac_address } : {}),
      initiator_name: node.initiator_iqn,
      network: node.network,
      targets: t.paths.slice(0, 2).map((p) => ({ name: p.iqn, ...portalParts(p.portal), lun: p.lun })),
      auth: t.auth_method === "CHAP" && secret !== null ? { method: "CHAP", username: t.auth_username ?? "", secret } : { method: "None" },
      boot_mode: node.boot_mode,
    },
  };
}

export const configureFirmware: StepImpl = (deps, req, node) => viaRelay(deps, req, "configure_firmware", () => sanBootBody(req, node, deps));

export const powerOn: StepImpl = (deps, req, node) =>
  viaRelay(deps, req, "power_on", () => ({ type: "power_on", bmc: node.bmc, boot_mode: node.boot_mode }));

export const awaitBoot: StepImpl = (deps, req, node) =>
  viaRelay(deps, req, "await_boot", () => ({ type: "await_power_on", bmc: node.bmc, timeout_seconds: deps.config.SANBOOT_POWER_ON_TIMEOUT_SECONDS }));

export const clearFirmware: StepImpl = (deps, req, node) =>
  viaRelay(deps, req, "clear_firmware", () => ({ type: "clear_san_boot", bmc: node.bmc, ...(node.mac_address ? { mac_address: node.mac_address } : {}) }));
