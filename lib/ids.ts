import { createHash, randomUUID } from "node:crypto";

export const newId = (): string => randomUUID();

export const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;

export const sha256Hex = (s: string): string => createHash("sha256").update(s).digest("hex");

/**
 * The node's iSCSI initiator name, stable for the node's life (RFC 3720 iqn format):
 * iqn.<yyyy-mm>.<reversed domain>:<node id>. The prefix carries the date the naming authority
 * held the domain, so it is configured, not derived from the clock.
 */
export const initiatorIqn = (prefix: string, nodeId: string): string => `${prefix}:node-${nodeId}`;
