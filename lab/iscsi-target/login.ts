/**
 * The login phase of one connection (RFC 7143 §6.3, §11.12–11.13): security negotiation
 * (AuthMethod, CHAP), operational negotiation, then the move to full feature phase, or a
 * refusal with the status class and detail that says why.
 *
 * One instance per connection; `handle` takes each Login Request and returns the Login
 * Response to send and what happens next. Numbering (StatSN, ExpCmdSN, MaxCmdSN) is the
 * connection's to fill in.
 */
import { ChapResponder, type ChapCredentials } from "./chap";
import { DEFAULT_PARAMS, isOperationalKey, negotiateOperational, TARGET_MAX_RECV_DATA_SEGMENT_LENGTH, type SessionParams } from "./negotiation";
import { Stage, type InitiatorPdu, type TargetPdu } from "./pdu";
import { encodeText, parseText, TextFormatError, type TextPairs } from "./text";

/** Status-Class << 8 | Status-Detail (§11.13.5). */
export const LoginStatus = {
  Success: 0x0000,
  InitiatorError: 0x0200,
  AuthenticationFailure: 0x0201,
  AuthorizationFailure: 0x0202,
  NotFound: 0x0203,
  TargetRemoved: 0x0204,
  UnsupportedVersion: 0x0205,
  TooManyConnections: 0x0206,
  MissingParameter: 0x0207,
  SessionTypeNotSupported: 0x0209,
  SessionDoesNotExist: 0x020a,
  InvalidDuringLogin: 0x020b,
  TargetError: 0x0300,
  ServiceUnavailable: 0x0301,
} as const;

/** The portal group every target of this server belongs to. */
export const PORTAL_GROUP_TAG = 1;

export interface TargetNode {
  iqn: string;
  /** set: the initiator must authenticate with CHAP as this user */
  chap?: ChapCredentials;
  /** set: the target can authenticate itself when the initiator asks (mutual CHAP) */
  mutualChap?: ChapCredentials;
}

export type TargetLookup = { found: TargetNode } | { missing: "unknown" | "withdrawn" };

export interface SessionRequest {
  initiatorName: string;
  isid: Buffer;
  discovery: boolean;
  target: TargetNode | null;
  params: SessionParams;
}

/** What the login needs from the server around it. */
export interface LoginContext {
  lookup(iqn: string): TargetLookup;
  /** whether a session with this TSIH exists (a login adding a connection to it) */
  sessionExists(tsih: number): boolean;
  /** makes the session: its TSIH, or the status that refuses it (the target went meanwhile) */
  admit(session: SessionRequest): { tsih: number } | { status: number };
}

type LoginResponse = Omit<Extract<TargetPdu, { kind: "login-response" }>, "statSN" | "expCmdSN" | "maxCmdSN">;
type LoginRequest = Extract<InitiatorPdu, { kind: "login" }>;

export type LoginStep =
  | { response: LoginResponse; next: "continue" }
  | { response: LoginResponse; next: "full-feature"; session: SessionRequest & { tsih: number } }
  | { response: LoginResponse; next: "close"; reason: string };

/** Keys the login itself reads; never answered NotUnderstood. */
const LOGIN_KEYS = new Set(["InitiatorName", "InitiatorAlias", "TargetName", "SessionType", "AuthMethod", "CHAP_A", "CHAP_I", "CHAP_C", "CHAP_N", "CHAP_R"]);

export class Login {
  private first = true;
  private isid: Buffer = Buffer.alloc(6);
  private cid = 0;
  /** the stage both sides are in: the last response's NSG when it had T=1 */
  private stage: number = Stage.Security;
  private pendingText: Buffer[] = [];
  private initiatorName = "";
  private discovery = false;
  private target: TargetNode | null = null;
  private authMethod: "None" | "CHAP" | null = null;
  private chap: ChapResponder | null = null;
  private authenticated = false;
  private params: SessionParams = { ...DEFAULT_PARAMS };
  private negotiated = new Set<string>();
  private declaredRecvLength = false;

  constructor(private readonly ctx: LoginContext) {}

  handle(req: LoginRequest): LoginStep {
    if (this.first) {
      this.isid = req.isid;
      this.cid = req.cid;
      if (req.versionMin > 0) return this.refuse(req, LoginStatus.UnsupportedVersion, `version ${req.versionMin}..${req.versionMax}, we speak 0`);
      if (req.tsih !== 0) {
        // MaxConnections=1: no second connection joins a session
        const exists = this.ctx.sessionExists(req.tsih);
        return this.refuse(req, exists ? LoginStatus.TooManyConnections : LoginStatus.SessionDoesNotExist, `login to add a connection to session ${req.tsih}`);
      }
    } else if (!req.isid.equals(this.isid) || req.tsih !== 0 || req.cid !== this.cid) {
      return this.refuse(req, LoginStatus.InitiatorError, "ISID, TSIH or CID changed during the login");
    }
    if (req.csg === Stage.FullFeature || (req.csg !== this.stage && !(this.first && req.csg === Stage.Operational))) {
      return this.refuse(req, LoginStatus.InitiatorError, `login request in stage ${req.csg} while in stage ${this.stage}`);
    }

    // a text split over several requests (C bit): acknowledge, answer once it is whole
    this.pendingText.push(req.data);
    if (req.cont) return { response: this.response(req, { transit: false }), next: "continue" };
    let pairs: TextPairs;
    try {
      pairs = parseText(Buffer.concat(this.pendingText));
    } catch (err) {
      if (err instanceof TextFormatError) return this.refuse(req, LoginStatus.InitiatorError, err.message);
      throw err;
    } finally {
      this.pendingText = [];
    }
    const keys = new Map<string, string>();
    for (const [k, v] of pairs) if (!keys.has(k)) keys.set(k, v);

    const answers: TextPairs = [];
    if (this.first) {
      const refused = this.identify(req, keys, answers);
      if (refused) return refused;
      this.first = false;
      if (req.csg === Stage.Operational) {
        // straight to operational negotiation: only for a target that asks no authentication
        if (this.requiresChap()) return this.refuse(req, LoginStatus.AuthenticationFailure, "the target requires CHAP; the initiator skipped security negotiation");
        this.stage = Stage.Operational;
        this.authenticated = true;
      }
    }

    if (this.stage === Stage.Security) {
      const refused = this.security(req, keys, answers);
      if (refused) return refused;
    }
    answers.push(...this.operational(pairs));
    for (const [k] of pairs) if (!LOGIN_KEYS.has(k) && !isOperationalKey(k)) answers.push([k, "NotUnderstood"]);

    if (!req.transit) return { response: this.response(req, { transit: false, answers }), next: "continue" };
    if (this.stage === Stage.Security && !this.authenticated) {
      // the initiator wants to move on, authentication is not done: stay (T=0) and say what comes next
      return { response: this.response(req, { transit: false, answers }), next: "continue" };
    }
    const validNext = this.stage === Stage.Security ? req.nsg === Stage.Operational || req.nsg === Stage.FullFeature : req.nsg === Stage.FullFeature;
    if (!validNext) return this.refuse(req, LoginStatus.InitiatorError, `no transition from stage ${this.stage} to ${req.nsg}`);
    if (req.nsg === Stage.Operational) {
      const response = this.response(req, { transit: true, nsg: Stage.Operational, answers });
      this.stage = Stage.Operational;
      return { response, next: "continue" };
    }
    return this.finish(req, answers);
  }

  /** The first request: who the initiator is and what session it wants. */
  private identify(req: LoginRequest, keys: Map<string, string>, answers: TextPairs): LoginStep | null {
    const initiatorName = keys.get("InitiatorName");
    if (!initiatorName) return this.refuse(req, LoginStatus.MissingParameter, "InitiatorName missing from the first login request");
    this.initiatorName = initiatorName;
    const sessionType = keys.get("SessionType") ?? "Normal";
    if (sessionType !== "Normal" && sessionType !== "Discovery") return this.refuse(req, LoginStatus.SessionTypeNotSupported, `SessionType=${sessionType}`);
    this.discovery = sessionType === "Discovery";
    if (this.discovery) return null;
    const targetName = keys.get("TargetName");
    if (!targetName) return this.refuse(req, LoginStatus.MissingParameter, "TargetName missing from a normal session's login");
    const found = this.ctx.lookup(targetName);
    if ("missing" in found) {
      return found.missing === "withdrawn"
        ? this.refuse(req, LoginStatus.TargetRemoved, `target ${targetName} was withdrawn`)
        : this.refuse(req, LoginStatus.NotFound, `no target ${targetName}`);
    }
    this.target = found.found;
    // §13.9: returned in the first response when TargetName was given
    answers.push(["TargetPortalGroupTag", String(PORTAL_GROUP_TAG)]);
    return null;
  }

  private requiresChap(): boolean {
    return !this.discovery && this.target?.chap !== undefined;
  }

  private security(req: LoginRequest, keys: Map<string, string>, answers: TextPairs): LoginStep | null {
    const offered = keys.get("AuthMethod");
    if (offered !== undefined && this.authMethod === null) {
      const methods = offered.split(",").map((m) => m.trim());
      // the first method of the initiator's list that this target can do (§6.2.1, list negotiation)
      const ours: Array<"None" | "CHAP"> = this.requiresChap() ? ["CHAP"] : ["None"];
      const choice = methods.find((m): m is "None" | "CHAP" => (ours as string[]).includes(m));
      if (!choice) {
        const why = this.requiresChap() ? "the target requires CHAP" : "the target has no CHAP credentials to check";
        return this.refuse(req, LoginStatus.AuthenticationFailure, `AuthMethod=${offered}: ${why}`);
      }
      this.authMethod = choice;
      answers.push(["AuthMethod", choice]);
      if (choice === "None") this.authenticated = true;
      else this.chap = new ChapResponder(this.target!.chap!, this.target!.mutualChap ?? null);
    } else if (this.authMethod === null && req.transit) {
      // leaving security negotiation without having negotiated a method
      if (this.requiresChap()) return this.refuse(req, LoginStatus.AuthenticationFailure, "the target requires CHAP; no AuthMethod was offered");
      this.authenticated = true;
    }
    if (this.chap && !this.authenticated) {
      const step = this.chap.step(keys);
      if (step.outcome === "failed") return this.refuse(req, LoginStatus.AuthenticationFailure, step.reason);
      answers.push(...step.answers);
      if (step.outcome === "authenticated") this.authenticated = true;
    }
    return null;
  }

  private operational(pairs: TextPairs): TextPairs {
    const { answers, params } = negotiateOperational(pairs, this.params, { discovery: this.discovery, already: this.negotiated });
    this.params = params;
    if (this.stage === Stage.Operational && !this.declaredRecvLength) {
      this.declaredRecvLength = true;
      answers.push(["MaxRecvDataSegmentLength", String(TARGET_MAX_RECV_DATA_SEGMENT_LENGTH)]);
    }
    return answers;
  }

  private finish(req: LoginRequest, answers: TextPairs): LoginStep {
    const session: SessionRequest = { initiatorName: this.initiatorName, isid: this.isid, discovery: this.discovery, target: this.target, params: this.params };
    const admitted = this.ctx.admit(session);
    if ("status" in admitted) return this.refuse(req, admitted.status, "the target refused the session");
    const response = this.response(req, { transit: true, nsg: Stage.FullFeature, answers, tsih: admitted.tsih });
    return { response, next: "full-feature", session: { ...session, tsih: admitted.tsih } };
  }

  private response(req: LoginRequest, o: { transit: boolean; nsg?: number; answers?: TextPairs; tsih?: number; status?: number }): LoginResponse {
    const status = o.status ?? LoginStatus.Success;
    return {
      kind: "login-response",
      transit: o.transit,
      cont: false,
      csg: req.csg,
      nsg: o.transit ? (o.nsg ?? 0) : 0,
      versionMax: 0,
      versionActive: 0,
      isid: req.isid,
      tsih: o.tsih ?? 0,
      itt: req.itt,
      statusClass: status >> 8,
      statusDetail: status & 0xff,
      ...(o.answers && o.answers.length > 0 ? { data: encodeText(o.answers) } : {}),
    };
  }

  private refuse(req: LoginRequest, status: number, reason: string): LoginStep {
    return { response: this.response(req, { transit: false, status }), next: "close", reason };
  }
}
