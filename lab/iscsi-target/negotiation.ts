/**
 * Operational parameter negotiation (RFC 7143 §6.2 and §13): for every key an initiator offers,
 * the answer the rules give, computed from one table of what this target supports.
 *
 * - list keys: the first of the initiator's values that we support, else Reject;
 * - Boolean OR / AND keys: the result of the function over both sides' values;
 * - numerical min / max keys: the min / max of both sides', an offer out of range is Rejected;
 * - declarative keys: remembered, not answered (MaxRecvDataSegmentLength is the one we also
 *   declare, ours, once).
 * Keys that do not apply to a discovery session are answered Irrelevant (the "Irrelevant when"
 * of each key's definition); keys nobody here knows are answered NotUnderstood.
 */
import { parseNumber, type TextPairs } from "./text";

export interface SessionParams {
  maxConnections: number;
  initialR2T: boolean;
  immediateData: boolean;
  maxBurstLength: number;
  firstBurstLength: number;
  defaultTime2Wait: number;
  defaultTime2Retain: number;
  maxOutstandingR2T: number;
  dataPDUInOrder: boolean;
  dataSequenceInOrder: boolean;
  errorRecoveryLevel: number;
  /** the largest data segment the initiator takes in one PDU (it declares it) */
  initiatorMaxRecvDataSegmentLength: number;
}

/** The RFC's defaults: what holds for a key nobody negotiated. */
export const DEFAULT_PARAMS: SessionParams = {
  maxConnections: 1,
  initialR2T: true,
  immediateData: true,
  maxBurstLength: 262144,
  firstBurstLength: 65536,
  defaultTime2Wait: 2,
  defaultTime2Retain: 20,
  maxOutstandingR2T: 1,
  dataPDUInOrder: true,
  dataSequenceInOrder: true,
  errorRecoveryLevel: 0,
  initiatorMaxRecvDataSegmentLength: 8192,
};

/** The largest data segment we take in one PDU, declared to the initiator. */
export const TARGET_MAX_RECV_DATA_SEGMENT_LENGTH = 262144;

type NumericKey = "maxConnections" | "maxBurstLength" | "firstBurstLength" | "defaultTime2Wait" | "defaultTime2Retain" | "maxOutstandingR2T" | "errorRecoveryLevel";
type BooleanKey = "initialR2T" | "immediateData" | "dataPDUInOrder" | "dataSequenceInOrder";

type Rule =
  | { kind: "list"; ours: string[] }
  | { kind: "or" | "and"; ours: boolean; param?: BooleanKey }
  | { kind: "min" | "max"; lo: number; hi: number; ours: number; param?: NumericKey }
  | { kind: "declarative" }
  /** keys of RFC 3720 that RFC 7143 retired: answered so an older initiator gets what it expects */
  | { kind: "irrelevant" };

/** What this target supports, key by key; `discovery` marks keys Irrelevant in a discovery session. */
const RULES: Record<string, Rule & { discovery?: "irrelevant" }> = {
  HeaderDigest: { kind: "list", ours: ["None"] },
  DataDigest: { kind: "list", ours: ["None"] },
  MaxConnections: { kind: "min", lo: 1, hi: 65535, ours: 1, param: "maxConnections", discovery: "irrelevant" },
  // we take unsolicited data and immediate data: the initiator's wish decides
  InitialR2T: { kind: "or", ours: false, param: "initialR2T", discovery: "irrelevant" },
  ImmediateData: { kind: "and", ours: true, param: "immediateData", discovery: "irrelevant" },
  MaxBurstLength: { kind: "min", lo: 512, hi: 16777215, ours: 16776192, param: "maxBurstLength", discovery: "irrelevant" },
  FirstBurstLength: { kind: "min", lo: 512, hi: 16777215, ours: 262144, param: "firstBurstLength", discovery: "irrelevant" },
  // no wait needed before reconnecting, nothing retained after a connection drops (ERL 0)
  DefaultTime2Wait: { kind: "max", lo: 0, hi: 3600, ours: 0, param: "defaultTime2Wait" },
  DefaultTime2Retain: { kind: "min", lo: 0, hi: 3600, ours: 0, param: "defaultTime2Retain" },
  MaxOutstandingR2T: { kind: "min", lo: 1, hi: 65535, ours: 8, param: "maxOutstandingR2T", discovery: "irrelevant" },
  DataPDUInOrder: { kind: "or", ours: true, param: "dataPDUInOrder", discovery: "irrelevant" },
  DataSequenceInOrder: { kind: "or", ours: true, param: "dataSequenceInOrder", discovery: "irrelevant" },
  ErrorRecoveryLevel: { kind: "min", lo: 0, hi: 2, ours: 0, param: "errorRecoveryLevel" },
  MaxRecvDataSegmentLength: { kind: "declarative" },
  // RFC 7143 §13.25 and RFC 7144
  TaskReporting: { kind: "list", ours: ["RFC3720"] },
  iSCSIProtocolLevel: { kind: "min", lo: 0, hi: 31, ours: 1 },
  RDMAExtensions: { kind: "and", ours: false },
  // markers (RFC 3720 §A.3): not supported, so their intervals are irrelevant
  IFMarker: { kind: "and", ours: false },
  OFMarker: { kind: "and", ours: false },
  IFMarkInt: { kind: "irrelevant" },
  OFMarkInt: { kind: "irrelevant" },
};

export function isOperationalKey(key: string): boolean {
  return key in RULES;
}

export interface NegotiationResult {
  answers: TextPairs;
  params: SessionParams;
}

/**
 * Answers the operational keys among `pairs` (others are the caller's) and returns the session
 * parameters they lead to. `already` holds keys negotiated earlier in this login: offered again,
 * they are answered Reject (a key is negotiated once, §6.2).
 */
export function negotiateOperational(pairs: TextPairs, params: SessionParams, opts: { discovery: boolean; already: Set<string> }): NegotiationResult {
  const next: SessionParams = { ...params };
  const answers: TextPairs = [];
  for (const [key, value] of pairs) {
    const rule = RULES[key];
    if (!rule) continue;
    if (rule.kind === "declarative") {
      const n = parseNumber(value);
      if (key === "MaxRecvDataSegmentLength" && n !== null && n >= 512 && n <= 16777215) next.initiatorMaxRecvDataSegmentLength = n;
      continue;
    }
    if (opts.already.has(key)) {
      answers.push([key, "Reject"]);
      continue;
    }
    opts.already.add(key);
    if (opts.discovery && rule.discovery === "irrelevant") {
      answers.push([key, "Irrelevant"]);
      continue;
    }
    answers.push([key, answer(rule, value, next)]);
  }
  // FirstBurstLength never exceeds MaxBurstLength (§13.14)
  if (next.firstBurstLength > next.maxBurstLength) {
    next.firstBurstLength = next.maxBurstLength;
    const i = answers.findIndex(([k]) => k === "FirstBurstLength");
    if (i >= 0) answers[i] = ["FirstBurstLength", String(next.firstBurstLength)];
  }
  return { answers, params: next };
}

function answer(rule: Rule, value: string, next: SessionParams): string {
  switch (rule.kind) {
    case "list": {
      const offered = value.split(",").map((v) => v.trim());
      return offered.find((v) => rule.ours.includes(v)) ?? "Reject";
    }
    case "or":
    case "and": {
      if (value !== "Yes" && value !== "No") return "Reject";
      const theirs = value === "Yes";
      const result = rule.kind === "or" ? theirs || rule.ours : theirs && rule.ours;
      if (rule.param) next[rule.param] = result;
      return result ? "Yes" : "No";
    }
    case "min":
    case "max": {
      const theirs = parseNumber(value);
      if (theirs === null || theirs < rule.lo || theirs > rule.hi) return "Reject";
      const result = rule.kind === "min" ? Math.min(theirs, rule.ours) : Math.max(theirs, rule.ours);
      if (rule.param) next[rule.param] = result;
      return String(result);
    }
    case "irrelevant":
      return "Irrelevant";
    case "declarative":
      return "";
  }
}
