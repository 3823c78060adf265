/**
 * `sanboot`: the operator CLI for the public API.
 *
 *   sanboot nodes enroll|list|show|update|delete
 *   sanboot boot NODE VOLUME [--protocol P] [--multipath] [--wait]
 *   sanboot undeploy NODE [--wait]
 *   sanboot requests list|show|watch
 *   sanboot sites create|list|show|update|rotate-token|delete   (admin)
 *
 * NODE is a node id or a node's name. Tables by default, `--json` prints what the API answered.
 * Exit codes: 0 done, 1 the API refused or the request failed (its code printed), 2 usage or
 * configuration, 3 stopped waiting (--timeout) while the request goes on.
 */
import { readFileSync } from "node:fs";
import { parseArgs, type ParseArgsConfig } from "node:util";
import { str, UsageError, type Values } from "./args";
import { allPages, ApiClient, ApiError } from "./client";
import { ConfigError, resolveTarget } from "./config";
import { fields, HISTORY_COLUMNS, NODE_COLUMNS, NODE_FIELDS, REQUEST_COLUMNS, REQUEST_FIELDS, table } from "./render";
import { SITE_OPTIONS, sites, sitesHelp } from "./sites";
import { follow, type WaitIo } from "./wait";

export interface CliIo extends WaitIo {
  err(text: string): void;
  env: NodeJS.ProcessEnv;
}

export const USAGE = `sanboot: boot bare-metal servers from Cinder volumes

usage: sanboot [global options] COMMAND ...

commands:
  nodes enroll --site S --bmc-address URL --system-id ID --credentials-ref REF [node options]
  nodes enroll --from-file node.json          (the API's enroll body)
  nodes list [--limit N]
  nodes show NODE
  nodes update NODE [node options]
  nodes delete NODE
  boot NODE VOLUME [--protocol iscsi|fibre_channel|auto] [--multipath] [--idempotency-key K] [--wait]
  undeploy NODE [--wait]
  requests list [--node NODE] [--state STATE] [--limit N]
  requests show REQUEST
  requests watch REQUEST
  sites create SITE --relay-token-file FILE [--relay-token-sha256 HEX] [--sealing-key-file FILE.pub] [--description T]
  sites list [--limit N]
  sites show SITE                             (its relay tokens' hashes, relays, command queue)
  sites update SITE [--description T] [--sealing-key-file FILE.pub]
  sites rotate-token SITE --add-token-file NEW | --remove-token-file OLD
  sites delete SITE                           (sites: admin only; sanboot sites COMMAND --help)

node options:
  --name NAME  --bmc-driver auto|redfish|idrac|ilo|xcc  --no-tls-verify
  --boot-mode uefi|bios  --boot-override once|continuous  --mac MAC  --fc-wwpn WWPN
  --static ADDRESS/NETMASK[,GATEWAY]  --dhcp  --vlan ID  --bios-changes refuse|allow  --project P

global options:
  --url URL          the service (or SANBOOT_URL, or the profile's url)
  --token TOKEN      a bearer token (or --token-file F, SANBOOT_TOKEN, the profile's token / token_file)
  --profile NAME     a profile of ~/.config/sanboot/config.json (or SANBOOT_CONFIG; SANBOOT_PROFILE)
  --json             print what the API answered, as JSON
  --wait             follow the request until it ends (live on a terminal, plain lines otherwise)
  --timeout SECONDS  with --wait: stop waiting after this long (exit 3; the request goes on)
  -h, --help
`;

const GLOBAL = {
  url: { type: "string" },
  token: { type: "string" },
  "token-file": { type: "string" },
  profile: { type: "string" },
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const satisfies ParseArgsConfig["options"];

const NODE_OPTIONS = {
  name: { type: "string" },
  site: { type: "string" },
  "bmc-address": { type: "string" },
  "system-id": { type: "string" },
  "credentials-ref": { type: "string" },
  "bmc-driver": { type: "string" },
  "no-tls-verify": { type: "boolean" },
  "boot-mode": { type: "string" },
  "boot-override": { type: "string" },
  mac: { type: "string" },
  "fc-wwpn": { type: "string" },
  static: { type: "string" },
  dhcp: { type: "boolean" },
  vlan: { type: "string" },
  "bios-changes": { type: "string" },
  project: { type: "string" },
  "from-file": { type: "string" },
} as const satisfies ParseArgsConfig["options"];

function parse(argv: string[], options: ParseArgsConfig["options"]): { values: Values; positionals: string[] } {
  try {
    const { values, positionals } = parseArgs({ args: argv, options: { ...GLOBAL, ...options }, allowPositionals: true, strict: true });
    return { values: values as Values, positionals };
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/** The node fields the flags set (enroll: all that are given; update: the changed ones). */
function nodeBody(v: Values, enroll: boolean): Record<string, unknown> {
  const from = str(v, "from-file");
  if (from) {
    try {
      return JSON.parse(readFileSync(from, "utf8")) as Record<string, unknown>;
    } catch (err) {
      throw new UsageError(`--from-file ${from}: ${(err as Error).message}`);
    }
  }
  const body: Record<string, unknown> = {};
  const set = (key: string, value: unknown) => value !== undefined && (body[key] = value);
  set("name", str(v, "name"));
  set("site", str(v, "site"));
  const bmcGiven = ["bmc-address", "system-id", "credentials-ref", "bmc-driver", "no-tls-verify"].some((k) => v[k] !== undefined);
  if (enroll || bmcGiven) {
    if (!enroll && !(str(v, "bmc-address") && str(v, "system-id") && str(v, "credentials-ref"))) {
      throw new UsageError("changing the BMC takes the whole of it: --bmc-address, --system-id and --credentials-ref");
    }
    body.bmc = {
      driver: str(v, "bmc-driver") ?? "auto",
      address: str(v, "bmc-address"),
      system_id: str(v, "system-id"),
      credentials_ref: str(v, "credentials-ref"),
      ...(v["no-tls-verify"] ? { tls: { verify: false } } : {}),
    };
  }
  set("boot_mode", str(v, "boot-mode"));
  set("boot_override", str(v, "boot-override"));
  set("mac_address", str(v, "mac"));
  set("fc_wwpn", str(v, "fc-wwpn"));
  set("bios_changes", str(v, "bios-changes"));
  if (enroll) set("project_id", str(v, "project"));
  const statik = str(v, "static");
  if (statik && v.dhcp) throw new UsageError("--static and --dhcp: one or the other");
  const vlan = str(v, "vlan");
  if (statik) {
    const m = /^([^/,]+)\/([^/,]+)(?:,(.+))?$/.exec(statik);
    if (!m) throw new UsageError("--static takes ADDRESS/NETMASK[,GATEWAY], e.g. 192.0.2.31/255.255.255.0,192.0.2.1");
    body.network = { mode: "static", address: m[1], netmask: m[2], ...(m[3] ? { gateway: m[3] } : {}), ...(vlan ? { vlan_id: Number(vlan) } : {}) };
  } else if (v.dhcp) body.network = { mode: "dhcp", ...(vlan ? { vlan_id: Number(vlan) } : {}) };
  else if (vlan) throw new UsageError("--vlan goes with --static or --dhcp");
  return body;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A node by id, or by its name (which must name one node). */
async function nodeId(client: ApiClient, ref: string | undefined): Promise<string> {
  if (!ref) throw new UsageError("which node? give its id or name");
  if (UUID.test(ref)) return ref;
  const found: Array<{ node_id: string; name: string | null }> = [];
  let cursor: string | undefined;
  do {
    const page = (await client.get(`/v1/nodes?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`)).body;
    found.push(...page.nodes.filter((n: { name: string | null }) => n.name === ref));
    cursor = page.next_cursor ?? undefined;
  } while (cursor);
  if (found.length === 0) throw new ApiError(404, "NODE_NOT_FOUND", `no node is named ${ref}`);
  if (found.length > 1) throw new UsageError(`${found.length} nodes are named ${ref}: give the node id (${found.map((n) => n.node_id).join(", ")})`);
  return found[0]!.node_id;
}

export async function main(argv: string[], io: CliIo): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === "-h" || command === "--help" || command === "help") {
    io.out(USAGE);
    return command ? 0 : 2;
  }
  try {
    return await run(command, rest, io);
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`sanboot: ${err.message}\n(sanboot --help for usage)\n`);
      return 2;
    }
    if (err instanceof ConfigError) {
      io.err(`sanboot: ${err.message}\n`);
      return 2;
    }
    if (err instanceof ApiError) {
      const details = err.details.map((d) => `\n  ${d.field ? `${d.field}: ` : ""}${d.message}`).join("");
      io.err(`error: ${err.code}: ${err.message}${details}\n`);
      return 1;
    }
    throw err;
  }
}

async function run(command: string, argv: string[], io: CliIo): Promise<number> {
  // `sites --help`: a flag is not a subcommand
  const sub = (command === "nodes" || command === "requests" || command === "sites") && argv[0] !== undefined && !argv[0].startsWith("-") ? argv[0] : undefined;
  const args = sub !== undefined ? argv.slice(1) : argv;
  const options =
    command === "sites"
      ? SITE_OPTIONS
      : ({ ...NODE_OPTIONS, wait: { type: "boolean" }, timeout: { type: "string" }, protocol: { type: "string" }, multipath: { type: "boolean" }, "idempotency-key": { type: "string" }, node: { type: "string" }, state: { type: "string" }, limit: { type: "string" } } as const);
  const { values: v, positionals: pos } = parse(args, options);
  if (v.help) {
    io.out(command === "sites" ? sitesHelp(sub) : USAGE);
    return 0;
  }
  const connect = () => new ApiClient(resolveTarget({ url: str(v, "url"), token: str(v, "token"), tokenFile: str(v, "token-file"), profile: str(v, "profile") }, io.env));
  const json = v.json === true;
  const show = (body: unknown, text: () => string) => io.out(json ? `${JSON.stringify(body, null, 2)}\n` : text());
  // the sites commands check their flags and read their files before they need the service
  if (command === "sites") return sites(sub, pos, v, { connect, show });
  const client = connect();
  const timeout = str(v, "timeout");
  const waitFor = (requestId: string) => follow(client, requestId, io, timeout ? { timeoutMs: Number(timeout) * 1000 } : {});
  const requestText = (r: Record<string, unknown>) => fields(r, REQUEST_FIELDS) + (Array.isArray(r.history) && r.history.length ? `\n${table(r.history as never, HISTORY_COLUMNS)}` : "");

  switch (`${command}${sub !== undefined ? ` ${sub}` : ""}`) {
    case "nodes enroll": {
      const body = nodeBody(v, true);
      const res = await client.call("POST", "/v1/nodes", body);
      show(res.body, () => fields(res.body, NODE_FIELDS));
      return 0;
    }
    case "nodes list": {
      const nodes = await allPages(client, "/v1/nodes", "nodes", str(v, "limit"));
      show({ nodes }, () => table(nodes as never, NODE_COLUMNS));
      return 0;
    }
    case "nodes show": {
      const res = await client.get(`/v1/nodes/${await nodeId(client, pos[0])}`);
      show(res.body, () => fields(res.body, NODE_FIELDS));
      return 0;
    }
    case "nodes update": {
      const id = await nodeId(client, pos[0]);
      const body = nodeBody(v, false);
      if (Object.keys(body).length === 0) throw new UsageError("nothing to change: give at least one node option");
      const res = await client.call("PATCH", `/v1/nodes/${id}`, body);
      show(res.body, () => fields(res.body, NODE_FIELDS));
      return 0;
    }
    case "nodes delete": {
      const id = await nodeId(client, pos[0]);
      await client.call("DELETE", `/v1/nodes/${id}`);
      show({ deleted: id }, () => `deleted node ${id}\n`);
      return 0;
    }
    case "boot": {
      const [node, volume] = pos;
      if (!volume) throw new UsageError("boot NODE VOLUME: which volume?");
      const id = await nodeId(client, node);
      const body = { volume_id: volume, ...(str(v, "protocol") ? { protocol: str(v, "protocol") } : {}), ...(v.multipath ? { multipath: true } : {}) };
      const key = str(v, "idempotency-key");
      const res = await client.call("POST", `/v1/nodes/${id}/boot-from-volume`, body, key ? { "idempotency-key": key } : {});
      if (!v.wait) {
        show(res.body, () => `boot request ${res.body.request_id}: ${res.body.state}\n`);
        return 0;
      }
      if (!json) io.out(`boot request ${res.body.request_id}\n`);
      return waitFor(res.body.request_id);
    }
    case "undeploy": {
      const id = await nodeId(client, pos[0]);
      const res = await client.call("DELETE", `/v1/nodes/${id}/boot-from-volume`);
      if (!v.wait) {
        show(res.body, () => `undeploy of request ${res.body.request_id}: ${res.body.state}\n`);
        return 0;
      }
      if (!json) io.out(`undeploy of request ${res.body.request_id}\n`);
      return waitFor(res.body.request_id);
    }
    case "requests list": {
      const q = new URLSearchParams();
      if (str(v, "node")) q.set("node_id", await nodeId(client, str(v, "node")));
      if (str(v, "state")) q.set("state", str(v, "state")!);
      const list = await allPages(client, `/v1/boot-requests${q.size ? `?${q}` : ""}`, "boot_requests", str(v, "limit"));
      show({ boot_requests: list }, () => table(list as never, REQUEST_COLUMNS));
      return 0;
    }
    case "requests show": {
      if (!pos[0]) throw new UsageError("requests show REQUEST: which request?");
      const res = await client.get(`/v1/boot-requests/${encodeURIComponent(pos[0])}`);
      show(res.body, () => requestText(res.body));
      return 0;
    }
    case "requests watch": {
      if (!pos[0]) throw new UsageError("requests watch REQUEST: which request?");
      return waitFor(pos[0]);
    }
    default:
      throw new UsageError(`unknown command: ${[command, sub].filter(Boolean).join(" ")}`);
  }
}

/** The process entry (the bundle's): real terminal, real clock. */
export function runCli(): void {
  const io: CliIo = {
    out: (t) => void process.stdout.write(t),
    err: (t) => void process.stderr.write(t),
    isTTY: process.stdout.isTTY === true,
    now: Date.now,
    sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
    env: process.env,
  };
  main(process.argv.slice(2), io).then(
    (code) => (process.exitCode = code),
    (err: unknown) => {
      process.stderr.write(`sanboot: ${(err as Error).stack ?? String(err)}\n`);
      process.exitCode = 1;
    },
  );
}

if (require.main === module) runCli();
