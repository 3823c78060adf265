/**
 * The Redfish peers lab (../shared/labs/redfish-peers): Redfish services nobody on this project
 * wrote (DMTF's Redfish-Mockup-Server with DMTF's public-tower and public-acd trees, OpenStack's
 * sushy-tools). This module starts them, reads their whole tree to compare before and after, and
 * works around their documented limits in the test, never in the product:
 *
 * - the mockup server's actions answer 204 and change nothing: a real BMC's PowerState follows a
 *   Reset, so `startPowerFollower` puts a proxy in front of a peer that, after a Reset it
 *   forwarded, PATCHes PowerState the way the BMC would have changed it;
 * - the mockup server answers CHAP secrets on GET (real BMCs answer null): comparisons mask them;
 * - none of the trees can name a SAN device for a boot override: `offerRemoteDrive` makes a peer
 *   a BMC that can (adds RemoteDrive to its allowed override targets), for the sequences that
 *   need one; the trees as they come must end in a clean BMC_CAPABILITY_MISSING.
 */
import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { resolve } from "node:path";
import { promisify } from "node:util";
import { Agent, request } from "undici";

const run = promisify(execFile);

export const PEERS_LAB = resolve(process.env["SANBOOT_REDFISH_PEERS_LAB"] ?? resolve(process.cwd(), "../shared/labs/redfish-peers"));
export const STATE = process.env["REDFISH_PEERS_STATE"] ?? "/var/tmp/redfish-peers";

/** Why the suite cannot run here, or undefined when it can. */
export function unavailable(): string | undefined {
  if (!process.env["SANBOOT_TEST_REDFISH_PEERS"]) return "set SANBOOT_TEST_REDFISH_PEERS=1 (npm run test:redfish-peers)";
  if (!existsSync(resolve(PEERS_LAB, "up.sh"))) return `the Redfish peers lab is not at ${PEERS_LAB} (set SANBOOT_REDFISH_PEERS_LAB)`;
  return undefined;
}

export interface Peer {
  name: "tower" | "acd" | "sushy";
  url: string;
  systemId: string;
  username: string;
  password: string;
}

export interface PeersLab {
  ca: string;
  tlsDir: string;
  peers: Record<Peer["name"], Peer>;
  /** a fresh state for one peer (the mockup server keeps every PATCH in memory) */
  restart(name: Peer["name"]): Promise<Peer>;
}

const PORTS = {
  tower: Number(process.env["REDFISH_PEER_TOWER_PORT"] ?? 8601),
  acd: Number(process.env["REDFISH_PEER_ACD_PORT"] ?? 8602),
  sushy: Number(process.env["REDFISH_PEER_SUSHY_PORT"] ?? 8603),
};

export async function upPeers(): Promise<PeersLab> {
  await run("bash", [resolve(PEERS_LAB, "up.sh")], { timeout: 600_000 });
  const tlsDir = resolve(STATE, "tls");
  const ca = readFileSync(resolve(tlsDir, "ca.pem"), "utf8");
  const describe = async (name: Peer["name"]): Promise<Peer> => {
    const auth = name === "sushy" ? { username: "admin", password: "password" } : { username: "", password: "" };
    const url = `https://127.0.0.1:${PORTS[name]}`;
    const systems = await getJson(url, "/redfish/v1/Systems", ca, auth);
    const first = (systems.Members as Array<{ "@odata.id": string }>)[0]!["@odata.id"];
    return { name, url, systemId: first.split("/").pop()!, ...auth };
  };
  const peers = { tower: await describe("tower"), acd: await describe("acd"), sushy: await describe("sushy") };
  return {
    ca,
    tlsDir,
    peers,
    restart: async (name) => {
      await run("bash", [resolve(PEERS_LAB, "up.sh"), "restart", name], { timeout: 120_000 });
      return (peers[name] = await describe(name));
    },
  };
}

export async function getJson(base: string, path: string, ca: string, auth: { username: string; password: string }): Promise<Record<string, unknown>> {
  const dispatcher = agentFor(ca);
  const res = await request(`${base}${path}`, { dispatcher, headers: authHeaders(auth) });
  const text = await res.body.text();
  if (res.statusCode >= 300) throw new Error(`GET ${path}: ${res.statusCode}`);
  return JSON.parse(text) as Record<string, unknown>;
}

export async function patchJson(base: string, path: string, body: unknown, ca: string, auth: { username: string; password: string }): Promise<number> {
  const res = await request(`${base}${path}`, { method: "PATCH", dispatcher: agentFor(ca), headers: { ...authHeaders(auth), "content-type": "application/json" }, body: JSON.stringify(body) });
  await res.body.text();
  return res.statusCode;
}

const agents = new Map<string, Agent>();
function agentFor(ca: string): Agent {
  let a = agents.get(ca);
  if (!a) agents.set(ca, (a = new Agent({ connect: { ca }, connections: 4 })));
  return a;
}

function authHeaders(auth: { username: string; password: string }): Record<string, string> {
  return auth.username ? { authorization: `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString("base64")}` } : {};
}

/** Every resource reachable from the ServiceRoot by `@odata.id` links: uri → body. */
export async function crawl(peer: Peer, ca: string, limit = 600): Promise<Map<string, Record<string, unknown>>> {
  const seen = new Map<string, Record<string, unknown>>();
  const queue = ["/redfish/v1/"];
  while (queue.length > 0 && seen.size < limit) {
    const uri = queue.shift()!;
    const key = uri.replace(/\/+$/, "") || "/redfish/v1";
    if (seen.has(key)) continue;
    let body: Record<string, unknown>;
    try {
      body = await getJson(peer.url, uri, ca, peer);
    } catch {
      continue; // links to what a mockup does not hold
    }
    seen.set(key, body);
    for (const link of links(body)) if (!seen.has(link.replace(/\/+$/, "")) && !/\$metadata|JsonSchemas|Registries|#/.test(link)) queue.push(link);
  }
  return seen;
}

function links(v: unknown, out: string[] = []): string[] {
  if (Array.isArray(v)) for (const x of v) links(x, out);
  else if (v && typeof v === "object") {
    for (const [k, x] of Object.entries(v)) {
      if (k === "@odata.id" && typeof x === "string" && x.startsWith("/redfish/v1")) out.push(x);
      else links(x, out);
    }
  }
  return out;
}

const SECRET = /(CHAPSecret|ChapSecret|Password)$/;

/** A body as compared: secrets masked (the mockup answers them; real BMCs answer null). */
export function masked(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(masked);
  if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, SECRET.test(k) ? "<secret>" : masked(x)]));
  return v;
}

/** Properties a BMC changes on its own, whatever anyone does (sushy's Manager clock). */
const LIVE = new Set(["DateTime", "DateTimeLocalOffset"]);

/**
 * The resources that differ between two crawls (secrets masked, the BMC's own clock left out;
 * `ignore` lists uri → top-level properties a test expects to change, such as PowerState after an
 * undeploy).
 */
export function differences(before: Map<string, Record<string, unknown>>, after: Map<string, Record<string, unknown>>, ignore: Record<string, string[]> = {}): string[] {
  const out: string[] = [];
  for (const uri of new Set([...before.keys(), ...after.keys()])) {
    const strip = (b: Record<string, unknown> | undefined) => (b ? masked(Object.fromEntries(Object.entries(b).filter(([k]) => !LIVE.has(k) && !(ignore[uri] ?? []).includes(k)))) : undefined);
    const a = JSON.stringify(sortKeys(strip(before.get(uri))));
    const b = JSON.stringify(sortKeys(strip(after.get(uri))));
    if (a !== b) out.push(uri);
  }
  return out;
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === "object") return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortKeys((v as Record<string, unknown>)[k])]));
  return v;
}

/** The peer, made a BMC that can boot a SAN device: RemoteDrive among its allowed override targets. */
export async function offerRemoteDrive(peer: Peer, ca: string): Promise<void> {
  const system = await getJson(peer.url, `/redfish/v1/Systems/${peer.systemId}`, ca, peer);
  const allowed = ((system.Boot as Record<string, unknown>)["BootSourceOverrideTarget@Redfish.AllowableValues"] as string[]) ?? [];
  const status = await patchJson(peer.url, `/redfish/v1/Systems/${peer.systemId}`, { Boot: { "BootSourceOverrideTarget@Redfish.AllowableValues": [...allowed, "RemoteDrive"] } }, ca, peer);
  if (status >= 300) throw new Error(`could not offer RemoteDrive on ${peer.name}: ${status}`);
}

export interface PowerFollower {
  url: string;
  resets: string[];
  /** every request forwarded: "METHOD path" */
  requests: string[];
  close(): Promise<void>;
}

const POWER_AFTER: Record<string, "On" | "Off" | "toggle"> = {
  On: "On", ForceOn: "On", ForceRestart: "On", GracefulRestart: "On", PowerCycle: "On",
  ForceOff: "Off", GracefulShutdown: "Off", PushPowerButton: "toggle",
};

/**
 * An HTTPS proxy in front of a mockup peer (the lab's own certificate, so the relay verifies it
 * as it verifies the peer) that, after forwarding a ComputerSystem.Reset the peer accepted,
 * PATCHes the system's PowerState to what the reset does on a real BMC.
 */
export async function startPowerFollower(peer: Peer, lab: PeersLab): Promise<PowerFollower> {
  const dispatcher = agentFor(lab.ca);
  const resets: string[] = [];
  const requests: string[] = [];
  const server: Server = createServer(
    { key: readFileSync(resolve(lab.tlsDir, "server.key")), cert: readFileSync(resolve(lab.tlsDir, "server.pem")) },
    (req, res) => {
      void (async () => {
        const chunks: Buffer[] = [];
        for await (const c of req) chunks.push(c as Buffer);
        const body = Buffer.concat(chunks);
        requests.push(`${req.method} ${req.url}`);
        const headers = Object.fromEntries(Object.entries(req.headers).filter(([k]) => !["host", "connection", "content-length"].includes(k))) as Record<string, string>;
        const upstream = await request(`${peer.url}${req.url}`, { method: req.method as "GET", headers, dispatcher, ...(body.length > 0 ? { body } : {}) });
        const text = Buffer.from(await upstream.body.arrayBuffer());
        const reset = /^(\/redfish\/v1\/Systems\/[^/]+)\/Actions\/ComputerSystem\.Reset\/?$/.exec(req.url ?? "");
        if (req.method === "POST" && reset && upstream.statusCode < 300) {
          const type = String((JSON.parse(body.toString() || "{}") as { ResetType?: string }).ResetType);
          resets.push(type);
          const effect = POWER_AFTER[type];
          if (effect) {
            const now = (await getJson(peer.url, reset[1]!, lab.ca, peer)).PowerState;
            const next = effect === "toggle" ? (now === "On" ? "Off" : "On") : effect;
            await patchJson(peer.url, reset[1]!, { PowerState: next }, lab.ca, peer);
          }
        }
        const out: Record<string, string> = {};
        for (const [k, v] of Object.entries(upstream.headers)) if (typeof v === "string" && !["connection", "transfer-encoding", "content-length"].includes(k)) out[k] = v;
        res.writeHead(upstream.statusCode, out).end(text);
      })().catch((err: Error) => res.writeHead(502).end(err.message));
    },
  );
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  return {
    url: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
    resets,
    requests,
    close: () => new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    }),
  };
}
