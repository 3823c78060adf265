/**
 * Test doubles for the relay: a small HTTP server that plays the service's relay endpoints
 * (real HTTP on 127.0.0.1, the wire double) and an in-memory BmcDriver that records its calls.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Claim } from "../../lib/bmc/claims";
import type { BmcDriver, BmcEndpoint, ClearResult, ConfigureResult, OverrideWant, PowerState, WriteGuard } from "../../lib/bmc/driver";
import type { CommandBody, IscsiBootSpec, LeasedCommand } from "../../lib/relay/protocol";

export interface Recorded {
  path: string;
  auth: string | undefined;
  body: any;
  at: number;
}

type Answer = { status: number; body?: unknown } | undefined;

export class FakeRelayService {
  readonly leases: Recorded[] = [];
  readonly heartbeats: Recorded[] = [];
  readonly results: Recorded[] = [];
  readonly releases: Recorded[] = [];
  /** Override an answer; return undefined for the default. */
  onLease: (req: Recorded) => Answer = () => undefined;
  onHeartbeat: (commandId: string, req: Recorded) => Answer = () => undefined;
  onResult: (commandId: string, req: Recorded) => Answer = () => undefined;
  /** GET /v1/relay/whoami; by default 404, as a service from before it answers */
  onWhoami: (req: Recorded) => Answer = () => undefined;
  /** The longest a lease call is held open, whatever the relay asked. */
  maxHoldMs = 200;
  /** Lease calls held open right now (long-polls waiting for a command). */
  holding = 0;

  private readonly queue: LeasedCommand[] = [];
  private waiting: Array<() => void> = [];
  private readonly server: Server;
  url = "";

  constructor() {
    this.server = createServer((req, res) => void this.handle(req, res));
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async close(): Promise<void> {
    for (const w of this.waiting) w();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  enqueue(...commands: LeasedCommand[]): void {
    this.queue.push(...commands);
    const w = this.waiting;
    this.waiting = [];
    for (const f of w) f();
  }

  /** Answers every long-poll held open now with what the queue has (often nothing). */
  answerLongPolls(): void {
    const w = this.waiting;
    this.waiting = [];
    for (const f of w) f();
  }

  resultFor(commandId: string): Recorded | undefined {
    return this.results.find((r) => r.path.includes(`/commands/${commandId}/`));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let text = "";
    for await (const chunk of req) text += chunk;
    const rec: Recorded = { path: req.url ?? "", auth: req.headers.authorization, body: text ? JSON.parse(text) : undefined, at: Date.now() };
    const send = (a: { status: number; body?: unknown }) => {
      if (a.body === undefined) res.writeHead(a.status).end();
      else res.writeHead(a.status, { "content-type": "application/json" }).end(JSON.stringify(a.body));
    };
    if (req.method === "GET" && rec.path === "/v1/relay/whoami") {
      const a = this.onWhoami(rec);
      if (a) return send(a);
    }
    const cmd = /^\/v1\/relay\/commands\/([^/]+)\/(heartbeat|result|release)$/.exec(rec.path);
    if (req.method === "POST" && rec.path === "/v1/relay/lease") {
      this.leases.push(rec);
      const forced = this.onLease(rec);
      if (forced) return send(forced);
      if (this.queue.length === 0) {
        const hold = Math.min(this.maxHoldMs, (rec.body?.wait_seconds ?? 0) * 1000);
        this.holding++;
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, hold);
          this.waiting.push(() => {
            clearTimeout(t);
            resolve();
          });
        });
        this.holding--;
      }
      const commands = this.queue.splice(0, rec.body?.max_commands ?? 1);
      if (res.destroyed) {
        this.queue.unshift(...commands);
        return;
      }
      return commands.length === 0 ? send({ status: 204 }) : send({ status: 200, body: { commands } });
    }
    if (req.method === "POST" && cmd) {
      const id = decodeURIComponent(cmd[1]!);
      if (cmd[2] === "heartbeat") {
        this.heartbeats.push(rec);
        return send(this.onHeartbeat(id, rec) ?? { status: 200, body: { lease_expires_at: new Date(Date.now() + 60_000).toISOString() } });
      }
      if (cmd[2] === "release") {
        this.releases.push(rec);
        return send({ status: 200, body: { released: true } });
      }
      this.results.push(rec);
      return send(this.onResult(id, rec) ?? { status: 200, body: {} });
    }
    send({ status: 404, body: { error: { code: "NOT_FOUND", message: "no such route" } } });
  }
}

let seq = 0;
export function leased(body: CommandBody, overrides: Partial<LeasedCommand> = {}): LeasedCommand {
  seq++;
  return {
    command_id: `cmd-${seq}`,
    lease_token: `lease-${seq}`,
    lease_expires_at: new Date(Date.now() + 60_000).toISOString(),
    attempt: 1,
    body,
    ...overrides,
  };
}

export function bmc(address: string, system_id = "1", credentials_ref = "lab") {
  return { driver: "redfish" as const, address, system_id, credentials_ref, tls: { verify: true } };
}

export const CHAP_SECRET = "chap-Secret-9f8e7d6c";
export const BMC_PASSWORD = "bmc-P4ssw0rd-xyzzy";
export const SITE_TOKEN = "site-token-0123456789abcdef";

export function iscsiSpec(auth: IscsiBootSpec["auth"] = { method: "CHAP", username: "chapuser", secret: CHAP_SECRET }): IscsiBootSpec {
  return {
    mac_address: "aa:bb:cc:dd:ee:ff",
    initiator_name: "iqn.2026-11.org.example:node-1",
    network: { mode: "dhcp" },
    targets: [{ name: "iqn.2010-10.org.openstack:volume-1", address: "192.0.2.10", port: 3260, lun: 0 }],
    auth,
    boot_mode: "uefi",
  };
}

export interface DriverCall {
  method: keyof BmcDriver;
  address: string;
  system_id: string;
  args: unknown[];
  endpoint: BmcEndpoint;
  start: number;
  end?: number;
}

type Impl = { [K in keyof BmcDriver]?: (...args: Parameters<BmcDriver[K]>) => ReturnType<BmcDriver[K]> };

/** An in-memory BmcDriver: every call recorded, each taking `delayMs`, answers overridable. */
export class FakeBmcDriver implements BmcDriver {
  readonly calls: DriverCall[] = [];
  delayMs = 0;
  impl: Impl = {};
  power: PowerState = "Off";
  private readonly active = new Map<string, number>();
  maxActivePerBmc = 0;
  maxActive = 0;
  private activeTotal = 0;

  private async record<T>(method: keyof BmcDriver, ep: BmcEndpoint, args: unknown[], fallback: () => T | Promise<T>): Promise<T> {
    const call: DriverCall = { method, address: ep.address, system_id: ep.system_id, args, endpoint: ep, start: Date.now() };
    this.calls.push(call);
    const key = `${ep.address}#${ep.system_id}`;
    this.active.set(key, (this.active.get(key) ?? 0) + 1);
    this.activeTotal++;
    this.maxActivePerBmc = Math.max(this.maxActivePerBmc, this.active.get(key)!);
    this.maxActive = Math.max(this.maxActive, this.activeTotal);
    try {
      if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs));
      const f = this.impl[method] as ((...a: unknown[]) => Promise<T>) | undefined;
      return f ? await f(ep, ...args) : await fallback();
    } finally {
      call.end = Date.now();
      this.active.set(key, this.active.get(key)! - 1);
      this.activeTotal--;
    }
  }

  getPowerState(ep: BmcEndpoint) {
    return this.record("getPowerState", ep, [], () => this.power);
  }
  powerOn(ep: BmcEndpoint) {
    return this.record("powerOn", ep, [], () => {
      this.power = "On";
    });
  }
  powerOff(ep: BmcEndpoint) {
    return this.record("powerOff", ep, [], () => {
      this.power = "Off";
    });
  }
  waitForPowerOn(ep: BmcEndpoint, timeoutMs?: number) {
    return this.record("waitForPowerOn", ep, [timeoutMs], (): PowerState => "On");
  }
  checkSanBootCapability(ep: BmcEndpoint, mode: "uefi" | "bios") {
    return this.record("checkSanBootCapability", ep, [mode], () => {});
  }
  setSanBootOverride(ep: BmcEndpoint, want: OverrideWant, guard: WriteGuard) {
    return this.record("setSanBootOverride", ep, [want], async (): Promise<{ changed: boolean; claim?: Claim }> => {
      const claim: Claim = { kind: "boot_override", uri: "/redfish/v1/Systems/1", wrote: { "Boot.BootSourceOverrideTarget": "RemoteDrive" }, before: { "Boot.BootSourceOverrideTarget": "None" }, secrets: [], identity: ["Boot.BootSourceOverrideTarget"] };
      await guard.record({ claims: [claim] });
      return { changed: true, claim };
    });
  }
  restoreBootOverride(ep: BmcEndpoint, claim: Claim) {
    return this.record("restoreBootOverride", ep, [claim], (): ClearResult => ({ changed: true, changes: [{ kind: "override", uri: claim.uri, action: "restored" }] }));
  }
  disableBootOverride(ep: BmcEndpoint, claim: Claim) {
    return this.record("disableBootOverride", ep, [claim], (): ClearResult => ({ changed: false, changes: [] }));
  }
  configureIscsiBoot(ep: BmcEndpoint, spec: IscsiBootSpec, guard: WriteGuard) {
    return this.record("configureIscsiBoot", ep, [spec, guard], async (): Promise<ConfigureResult> => {
      const uri = `/redfish/v1/Chassis/1/NetworkAdapters/1/NetworkDeviceFunctions/1`;
      const claim: Claim = { kind: "nic_iscsi", uri, wrote: { "iSCSIBoot.PrimaryTargetName": spec.targets[0]!.name }, before: { "iSCSIBoot.PrimaryTargetName": null }, secrets: [], identity: ["iSCSIBoot.PrimaryTargetName"] };
      await guard.record({ claims: [claim] });
      return { changed: true, function_uri: uri, claim };
    });
  }
  undoSanBoot(ep: BmcEndpoint, claims: Claim[]) {
    return this.record("undoSanBoot", ep, [claims], (): ClearResult => ({ changed: claims.length > 0, changes: claims.map((c) => ({ kind: "function" as const, uri: c.uri, action: "restored" })) }));
  }
}

/** A BMC call that lasts until the test opens the gate. */
export interface Gate {
  readonly passed: Promise<void>;
  open(): void;
}

export function gate(): Gate {
  let open!: () => void;
  const passed = new Promise<void>((resolve) => (open = resolve));
  return { passed, open };
}

/** Polls until `check` returns truthy (or throws after timeoutMs). */
export async function eventually<T>(check: () => T | undefined | false, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 10));
  }
}
