/**
 * `npm start`: sanboot on one machine, each part a separate process as it would be in a site.
 *
 *   dynalite (in this process) ◀── serverless-offline (the functions, HTTP API + Lambda endpoint)
 *   Cinder emulator, Redfish emulator (child processes)      ▲ long-poll      ▲ sweeper ticker, retry queues
 *                                                   relay agent (child)      (this process: lab/sqs-emulator.ts)
 *
 * Seeds a demo node and a bootable demo volume, prints the curl lines that drive them, and on
 * SIGINT / SIGTERM stops what it started in reverse order (relay first, so no command is left
 * half reported) and exits 0. Configuration: lab/start-config.ts (`npm start -- --help`).
 *
 * Children run in their own process groups: a terminal's Ctrl-C reaches only this process,
 * which then stops them in order. If this process is killed outright (SIGKILL) they survive;
 * their PIDs are printed as they start.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join, relative } from "node:path";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import { setTimeout as sleep } from "node:timers/promises";
import { Agent, request } from "undici";
import { sha256Hex } from "../lib/ids";
import { StateTable } from "../lib/store/state-table";
import { startDynalite, type RunningStore } from "./dynalite";
import { startSqsEmulator, type SqsEmulator } from "./sqs-emulator";
import { LAB_CREDENTIALS_REF, LAB_PROJECT, LAB_SITE } from "./local-stack";
import { ensureLabTls } from "./redfish-emulator/tls";
import { CinderClient } from "../lib/cinder/cinder-client";
import { biosBootSector, imageToolsSupport, uefiGrubImage, writeImageToIscsi } from "./machine/images";
import { DEFAULT_OS_MARKER, qemuSupport } from "./machine/qemu";
import { START_USAGE, StartConfigError, parseStartConfig, type StartConfig } from "./start-config";

const ROOT = join(__dirname, "..");
/** serverless-offline runs the default stage: function names and the table follow from it */
const STAGE = "dev";
const FUNCTION_PREFIX = `sanboot-${STAGE}-`;
const TABLE = `sanboot-${STAGE}-state`;
const REGION = "us-east-1";
const START_TIMEOUT_MS = 180_000;
const STOP_GRACE_MS = 10_000;
const BMC_USER = { username: "admin", password: "password" };
/** a relay lets its long-poll finish when it stops: short polls keep Ctrl-C quick */
const RELAY_WAIT_SECONDS = 2;

const say = (line: string) => process.stdout.write(`[start] ${line}\n`);

// ------------------------------------------------------------------ child processes

interface Child {
  name: string;
  proc: ChildProcess;
  exited: Promise<number | null>;
  /** the last lines it wrote, shown when it dies */
  tail: string[];
  running(): boolean;
}

function spawnChild(name: string, args: string[], env: NodeJS.ProcessEnv, keep: (line: string) => boolean = () => true): Child {
  const proc = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"], detached: true });
  const tail: string[] = [];
  for (const stream of [proc.stdout!, proc.stderr!]) {
    createInterface({ input: stream }).on("line", (line) => {
      tail.push(line);
      if (tail.length > 30) tail.shift();
      if (line.trim() && keep(line)) process.stdout.write(`[${name}] ${line}\n`);
    });
  }
  let code: number | null | undefined;
  const exited = new Promise<number | null>((resolve) => {
    proc.once("exit", (c, signal) => {
      code = c ?? (signal ? null : 0);
      resolve(code);
    });
    proc.once("error", (err) => {
      tail.push(String(err));
      code = -1;
      resolve(-1);
    });
  });
  say(`${name} started, pid ${proc.pid}`);
  return { name, proc, exited, tail, running: () => code === undefined };
}

/** SIGTERM, then after the grace period SIGKILL to its whole process group. */
async function stopChild(child: Child): Promise<void> {
  if (!child.running()) return;
  child.proc.kill("SIGTERM");
  const timer = sleep(STOP_GRACE_MS).then(() => "timeout" as const);
  if ((await Promise.race([child.exited, timer])) === "timeout") {
    say(`${child.name} did not stop within ${STOP_GRACE_MS / 1000} s: killing it`);
    killGroup(child, "SIGKILL");
    await child.exited;
  }
  killGroup(child, "SIGKILL"); // anything it left behind in its group (esbuild's service, say)
}

function killGroup(child: Child, signal: NodeJS.Signals): void {
  try {
    process.kill(-child.proc.pid!, signal);
  } catch {
    // the group is gone already
  }
}

/** Polls `ready` until it answers true; fails early if the child it waits for exits. */
async function waitUntil(what: string, ready: () => Promise<boolean>, child?: Child): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child && !child.running()) {
      throw new Error(`${child.name} exited before ${what} was ready; its last lines:\n  ${child.tail.join("\n  ")}`);
    }
    if (await ready().catch(() => false)) return;
    await sleep(200);
  }
  throw new Error(`${what} not ready after ${START_TIMEOUT_MS / 1000} s`);
}

async function portFree(port: number): Promise<boolean> {
  const server = createServer();
  return new Promise((resolve) => {
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

// ------------------------------------------------------------------ HTTP helpers

interface Reply {
  status: number;
  body: any;
}

async function call(url: string, opts: { method?: string; headers?: Record<string, string>; body?: unknown; dispatcher?: Agent } = {}): Promise<Reply> {
  const res = await request(url, {
    method: (opts.method ?? "GET") as "GET",
    headers: { ...(opts.body === undefined ? {} : { "content-type": "application/json" }), ...opts.headers },
    body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
    dispatcher: opts.dispatcher,
    headersTimeout: 30_000,
    bodyTimeout: 30_000,
  });
  const text = await res.body.text();
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    // keep the text
  }
  return { status: res.statusCode, body };
}

function expectStatus(what: string, reply: Reply, status: number): Reply {
  if (reply.status !== status) throw new Error(`${what} answered ${reply.status}: ${JSON.stringify(reply.body)}`);
  return reply;
}

// ------------------------------------------------------------------ the stack

/** serverless-offline repeats a Duration line and a blank line per invocation, and the relay long-polls: keep the rest */
const offlineNoise = [/^\s*$/, /^\(λ: \w+\) RequestId: /, /^POST \/v1\/relay\/lease /, /^\s*[│┌└]/, /^Successfully invoked scheduled function/];

async function main(): Promise<void> {
  let opts: { help?: boolean; qemu?: boolean; "qemu-mode"?: string };
  try {
    opts = parseArgs({ args: process.argv.slice(2), options: { help: { type: "boolean", short: "h" }, qemu: { type: "boolean" }, "qemu-mode": { type: "string" } }, strict: true }).values;
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${START_USAGE}\n`);
    process.exit(2);
  }
  if (opts.help) {
    process.stdout.write(`${START_USAGE}\n`);
    return;
  }
  const qemuMode = opts["qemu-mode"] ?? "uefi";
  if (qemuMode !== "uefi" && qemuMode !== "bios") {
    process.stderr.write(`--qemu-mode must be uefi or bios, got ${qemuMode}\n`);
    process.exit(2);
  }
  if (opts["qemu-mode"] && !opts.qemu) {
    process.stderr.write("--qemu-mode goes with --qemu\n");
    process.exit(2);
  }
  if (opts.qemu) {
    // a demo VM that cannot run is refused here, saying what to install, never faked
    const missing = [qemuSupport(), imageToolsSupport()].flatMap((s) => (s.ok ? [] : [s.reason]));
    if (missing.length > 0) {
      process.stderr.write(`sanboot start --qemu: ${missing.join("; ")}\n`);
      process.exit(2);
    }
  }
  let config: StartConfig;
  try {
    config = parseStartConfig(process.env);
  } catch (err) {
    if (!(err instanceof StartConfigError)) throw err;
    process.stderr.write(`sanboot start: ${err.message}\n`);
    process.exit(2);
  }

  const t0 = Date.now();
  // Node 20 is the lab's runtime, not the deployed one (nodejs22.x): the SDK's notice would be
  // repeated by every worker offline starts. AWS_* variables reach those workers too.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";
  const children: Child[] = [];
  let store: RunningStore | undefined;
  let sqs: SqsEmulator | undefined;
  let ticker: NodeJS.Timeout | undefined;
  let stopping: Promise<void> | undefined;
  let firstSignalAt = 0;

  const stopAll = (why: string) =>
    (stopping ??= (async () => {
      say(`stopping (${why})`);
      if (ticker) clearTimeout(ticker);
      const byName = (n: string) => children.filter((c) => c.name === n);
      // the relay first (it reports what it holds), then the service, then what the service uses
      await Promise.all(byName("relay").map(stopChild));
      await Promise.all(byName("offline").map(stopChild));
      await Promise.all(children.map(stopChild));
      await sqs?.close();
      await store?.close();
      say("stopped");
    })());

  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.on(signal, () => {
      // a terminal, npm and tsx may each pass on the same Ctrl-C: only a later one means "now"
      if (firstSignalAt && Date.now() - firstSignalAt > 2_000) {
        say(`${signal} again: killing everything`);
        for (const c of children) killGroup(c, "SIGKILL");
        process.exit(1);
      }
      firstSignalAt ||= Date.now();
      void stopAll(signal).then(() => process.exit(0));
    });
  }
  // last resort if this process dies on an error: leave nothing running
  process.on("exit", () => {
    for (const c of children) if (c.running()) killGroup(c, "SIGKILL");
  });

  try {
    const names = { SANBOOT_HTTP_PORT: config.httpPort, SANBOOT_LAMBDA_PORT: config.lambdaPort, SANBOOT_DYNAMODB_PORT: config.dynamodbPort, SANBOOT_CINDER_PORT: config.cinderPort, SANBOOT_BMC_PORT: config.bmcPort };
    for (const [name, port] of Object.entries(names)) {
      if (!(await portFree(port))) throw new Error(`port ${port} (${name}) is in use; pick another with ${name}=...`);
    }

    // 1. files: lab CA, relay token and credentials
    mkdirSync(config.localDir, { recursive: true });
    const tls = ensureLabTls(join(config.localDir, "lab-tls"));
    const caFile = join(tls.dir, "ca.pem");
    const relayToken = `relay-${randomBytes(16).toString("hex")}`;
    // the sites API is the admin's: a token per run, printed below
    const adminToken = `admin-${randomBytes(12).toString("hex")}`;
    const tokenFile = join(config.localDir, "relay-token");
    writeFileSync(tokenFile, `${relayToken}\n`, { mode: 0o600 });
    const credentialsFile = join(config.localDir, "relay-credentials.json");
    const credentials = { [LAB_CREDENTIALS_REF]: { ...BMC_USER, ca_file: relative(config.localDir, caFile) } };
    writeFileSync(credentialsFile, `${JSON.stringify(credentials, null, 2)}\n`, { mode: 0o600 });

    // 2. the store and its table
    store = await startDynalite(config.dynamodbPort);
    const table = new StateTable({ tableName: TABLE, region: REGION, endpoint: store.endpoint });
    await table.ensureTable();
    table.close();

    // 3. emulators and the service, started together (the esbuild build of the service is the long pole)
    const url = {
      api: `http://127.0.0.1:${config.httpPort}`,
      lambda: `http://127.0.0.1:${config.lambdaPort}`,
      cinder: `http://127.0.0.1:${config.cinderPort}`,
      bmc: `https://127.0.0.1:${config.bmcPort}`,
    };
    const tsx = ["--import", "tsx"];
    const dataDir = join(config.localDir, "volumes");
    const cinder = spawnChild("cinder", [...tsx, "lab/cinder-emulator/main.ts", "--port", String(config.cinderPort), ...(opts.qemu ? ["--data-dir", dataDir] : [])], process.env);
    const bmc = spawnChild(
      "bmc",
      [
        ...tsx, "lab/redfish-emulator/main.ts", "--port", String(config.bmcPort), "--systems", "1", "--tls-dir", tls.dir,
        "--power-delay-ms", String(config.powerDelayMs), "--username", BMC_USER.username, "--password", BMC_USER.password,
        // Legacy BIOS names the SAN device with RemoteDrive; UEFI by its boot option
        ...(opts.qemu ? ["--machine", "qemu", ...(qemuMode === "bios" ? ["--remote-drive"] : [])] : []),
      ],
      process.env,
    );
    children.push(cinder, bmc);
    // the step functions' retry queues: each message, once its delay is over, invokes the function
    // through offline's Lambda endpoint with an SQS event, as the event source mapping does on AWS
    const invokeAsync = (fn: string) => async (event: unknown) =>
      call(`${url.lambda}/2015-03-31/functions/${FUNCTION_PREFIX}${fn}/invocations`, { method: "POST", headers: { "x-amz-invocation-type": "Event" }, body: event });
    sqs = await startSqsEmulator({ region: REGION, consumers: { [`${FUNCTION_PREFIX}attach-retries`]: invokeAsync("attach"), [`${FUNCTION_PREFIX}firmware-retries`]: invokeAsync("firmware") } });
    const serviceEnv: NodeJS.ProcessEnv = {
      ...process.env,
      AWS_EC2_METADATA_DISABLED: "true",
      SLS_TELEMETRY_DISABLED: "1",
      SANBOOT_STAGE: "local",
      SANBOOT_HTTP_PORT: String(config.httpPort),
      SANBOOT_LAMBDA_PORT: String(config.lambdaPort),
      SANBOOT_DYNAMODB_ENDPOINT: store.endpoint,
      SANBOOT_LAMBDA_ENDPOINT: url.lambda,
      SANBOOT_SQS_ENDPOINT: sqs.url,
      SANBOOT_ATTACH_RETRY_QUEUE_URL: sqs.queueUrl(`${FUNCTION_PREFIX}attach-retries`),
      SANBOOT_FIRMWARE_RETRY_QUEUE_URL: sqs.queueUrl(`${FUNCTION_PREFIX}firmware-retries`),
      // the relays' doorbell, one queue per site: a lease hears a command another function queued at once
      SANBOOT_RELAY_BELL_QUEUE_URL_PREFIX: sqs.queueUrl(`${FUNCTION_PREFIX}relay-`),
      SANBOOT_CINDER_URL: url.cinder,
      SANBOOT_CINDER_PROJECT: LAB_PROJECT,
      SANBOOT_API_TOKENS: JSON.stringify({
        [sha256Hex(config.devToken)]: { project_id: LAB_PROJECT, role: "member" },
        [sha256Hex(adminToken)]: { project_id: LAB_PROJECT, role: "admin" },
      }),
      SANBOOT_RELAY_TOKENS: JSON.stringify({ [LAB_SITE]: sha256Hex(relayToken) }),
      // per run: the store is in memory, so nothing encrypted outlives it
      SANBOOT_SECRET_KEY: randomBytes(32).toString("base64"),
      SANBOOT_EVENT_BUS: "log",
      SANBOOT_LOG_LEVEL: config.logLevel,
      // our own bundle folder: another `serverless package` in this repo cleans the shared .esbuild/
      SANBOOT_ESBUILD_WORK_FOLDER: relative(ROOT, join(config.localDir, "esbuild")),
    };
    const offline = spawnChild(
      "offline",
      [join(ROOT, "node_modules/serverless/bin/serverless.js"), "offline", "start", "--stage", STAGE, "--noSponsor", "--httpPort", String(config.httpPort), "--lambdaPort", String(config.lambdaPort)],
      serviceEnv,
      (line) => !offlineNoise.some((re) => re.test(line)),
    );
    children.push(offline);

    const bmcAgent = new Agent({ connect: { ca: tls.caPem } });
    const auth = { authorization: `Bearer ${config.devToken}` };
    await Promise.all([
      waitUntil("the Cinder emulator", async () => (await call(`${url.cinder}/`)).status < 500, cinder),
      waitUntil("the Redfish emulator", async () => (await call(`${url.bmc}/redfish/v1`, { dispatcher: bmcAgent })).status === 200, bmc),
      waitUntil("the service", async () => (await call(`${url.api}/v1/nodes`, { headers: auth })).status === 200, offline),
    ]);
    say(`service answering after ${((Date.now() - t0) / 1000).toFixed(1)} s`);

    // 4. the sweeper, every few seconds (offline's own schedule only knows minutes)
    const sweeperUrl = `${url.lambda}/2015-03-31/functions/${FUNCTION_PREFIX}sweeper/invocations`;
    let sweepFailing = false;
    const tick = async () => {
      try {
        const r = await call(sweeperUrl, { method: "POST", headers: { "x-amz-invocation-type": "RequestResponse" }, body: {} });
        if (r.status !== 200 || (r.body && typeof r.body === "object" && "errorMessage" in r.body)) throw new Error(JSON.stringify(r.body));
        if (sweepFailing) say("sweeper works again");
        sweepFailing = false;
      } catch (err) {
        if (!sweepFailing) say(`sweeper invoke failed: ${(err as Error).message}`);
        sweepFailing = true;
      }
      if (!stopping) ticker = setTimeout(() => void tick(), config.sweepSeconds * 1000);
    };
    await tick();

    // 5. the relay agent for site "lab"
    const relay = spawnChild("relay", [...tsx, "relay/main.ts", "--service-url", url.api, "--site", LAB_SITE, "--token-file", tokenFile, "--credentials-file", credentialsFile, "--relay-id", "lab-relay-1", "--wait-seconds", String(RELAY_WAIT_SECONDS), "--stop-timeout-seconds", "5"], process.env);
    children.push(relay);
    // a boot is refused (SITE_RELAY_OFFLINE) until the site's relay has called: ready means it has
    const adminAuth = { authorization: `Bearer ${adminToken}` };
    await waitUntil("the relay", async () => (await call(`${url.api}/v1/sites/${LAB_SITE}`, { headers: adminAuth })).body?.relay_status === "online", relay);

    // 6. seed: the demo node (the emulator's first system) and a bootable demo volume
    const systems = expectStatus("GET /_lab/systems", await call(`${url.bmc}/_lab/systems`, { dispatcher: bmcAgent }), 200).body.systems as string[];
    const systemId = systems[0]!;
    const system = expectStatus("GET /_lab/systems/{id}", await call(`${url.bmc}/_lab/systems/${systemId}`, { dispatcher: bmcAgent }), 200).body;
    // the system's own first iSCSI port that nobody configured (port 2 holds an operator's target, the DPU is not the system's)
    const port = (system.functions as Array<{ mac: string; uri: string; capabilities: string[]; foreign: boolean; iSCSIBoot: { PrimaryTargetName?: string | null } }>).find(
      (f) => f.capabilities.includes("iSCSI") && !f.foreign && !f.iSCSIBoot.PrimaryTargetName,
    )!;
    const node = expectStatus(
      "enrolling the demo node",
      await call(`${url.api}/v1/nodes`, {
        method: "POST",
        headers: auth,
        body: { name: "demo", site: LAB_SITE, bmc: { driver: "redfish", address: url.bmc, system_id: systemId, credentials_ref: LAB_CREDENTIALS_REF }, boot_mode: opts.qemu ? qemuMode : "uefi", mac_address: port.mac },
      }),
      201,
    ).body;
    const volumeId = await createBootableVolume(url.cinder, LAB_PROJECT);
    if (opts.qemu) {
      const t = Date.now();
      await putDemoOs(url.cinder, LAB_PROJECT, volumeId, qemuMode);
      say(`demo volume holds a ${qemuMode === "bios" ? "BIOS boot sector" : "GRUB EFI image"} that prints ${DEFAULT_OS_MARKER} (written over its iSCSI export in ${((Date.now() - t) / 1000).toFixed(1)} s)`);
    }

    // 7. what to do next
    const curlAuth = `-H 'Authorization: Bearer ${config.devToken}'`;
    const lines = [
      "",
      "sanboot is running locally",
      `  API             ${url.api}   (token: ${config.devToken}, project ${LAB_PROJECT})`,
      `  Lambda invoke   ${url.lambda}   (functions ${FUNCTION_PREFIX}*; sweeper every ${config.sweepSeconds} s)`,
      `  DynamoDB        ${store.endpoint}   (dynalite, in memory, table ${TABLE})`,
      `  Cinder          ${url.cinder}/v3/${LAB_PROJECT}   (X-Auth-Token: admin:${LAB_PROJECT})`,
      `  Redfish BMC     ${url.bmc}/redfish/v1   (${BMC_USER.username}/${BMC_USER.password}, CA ${caFile})`,
      `  relay           site ${LAB_SITE}, credentials ${credentialsFile}`,
      `  admin token     ${adminToken}   (the sites API: curl -sS -H 'Authorization: Bearer ${adminToken}' ${url.api}/v1/sites/${LAB_SITE})`,
      `  demo node       ${node.node_id} (BMC system ${systemId}, port ${port.mac}${opts.qemu ? `; a QEMU VM, ${qemuMode}: its console shows as [bmc] [vm] lines` : ""})`,
      `  demo volume     ${volumeId} (bootable, available${opts.qemu ? `, an OS that prints ${DEFAULT_OS_MARKER}` : ""})`,
      "",
      "boot the demo node from the demo volume (answers 202 with a request_id):",
      `  curl -sS -X POST ${curlAuth} -H 'Content-Type: application/json' -d '{"volume_id":"${volumeId}","protocol":"iscsi"}' ${url.api}/v1/nodes/${node.node_id}/boot-from-volume`,
      "watch the request (put the request_id from the answer in REQUEST_ID; or list the node's requests):",
      `  curl -sS ${curlAuth} ${url.api}/v1/boot-requests/$REQUEST_ID`,
      `  curl -sS ${curlAuth} '${url.api}/v1/boot-requests?node_id=${node.node_id}'`,
      "look at the iSCSI boot target the demo BMC holds:",
      `  curl -sS --cacert ${caFile} -u ${BMC_USER.username}:${BMC_USER.password} ${url.bmc}${port.uri}`,
      "undeploy (power off, clear the boot target, detach the volume):",
      `  curl -sS -X DELETE ${curlAuth} ${url.api}/v1/nodes/${node.node_id}/boot-from-volume`,
      "",
    ];
    process.stdout.write(lines.join("\n") + "\n");
    say(`sanboot is ready after ${((Date.now() - t0) / 1000).toFixed(1)} s; Ctrl-C stops everything`);

    // a part that dies on its own takes the rest down: a half stack only misleads
    void Promise.race(children.map((c) => c.exited.then(() => c))).then((c) => {
      if (stopping) return;
      say(`${c.name} exited unexpectedly; its last lines:\n  ${c.tail.join("\n  ")}`);
      void stopAll(`${c.name} exited`).then(() => process.exit(1));
    });
  } catch (err) {
    if (stopping) return;
    process.stderr.write(`sanboot start failed: ${(err as Error).message}\n`);
    await stopAll("start failed");
    process.exit(1);
  }
}

/**
 * The demo OS onto the demo volume, as a user puts one there: attached to an image writer's
 * initiator, written over the export with its CHAP, detached (the export goes with it).
 */
async function putDemoOs(cinderUrl: string, project: string, volumeId: string, mode: "bios" | "uefi"): Promise<void> {
  const cinder = new CinderClient({ endpoint: cinderUrl, project_id: project, user: "sanboot", timeoutMs: 30_000, service_roles_header: true });
  const instance = randomUUID();
  const initiator = "iqn.2026-12.io.sanboot.lab:image-writer";
  try {
    const att = await cinder.attach({ volumeId, instanceUuid: instance, connector: { initiator, host: "image-writer", multipath: false, platform: "x86_64", os_type: "baremetal" }, protocol: "iscsi" });
    if (att.connection.driver_volume_type !== "iscsi") throw new Error("the Cinder emulator exported the demo volume over something other than iSCSI");
    const c = att.connection;
    await writeImageToIscsi({
      portal: c.target_portal,
      iqn: c.target_iqn,
      lun: c.target_lun,
      initiator,
      ...(c.auth_method === "CHAP" ? { chap: { username: c.auth_username!, secret: c.auth_password! } } : {}),
      image: mode === "bios" ? biosBootSector() : await uefiGrubImage(),
    });
    await cinder.detach(volumeId, instance);
  } finally {
    await cinder.close();
  }
}

/** Through Cinder's own API: create, wait until available, mark bootable. */
async function createBootableVolume(cinderUrl: string, project: string): Promise<string> {
  const base = `${cinderUrl}/v3/${project}`;
  const headers = { "x-auth-token": `admin:${project}`, "openstack-api-version": "volume 3.70" };
  const created = expectStatus("creating the demo volume", await call(`${base}/volumes`, { method: "POST", headers, body: { volume: { size: 1, name: "demo-boot" } } }), 202);
  const id: string = created.body.volume.id;
  for (;;) {
    const status: string = expectStatus(`GET volume ${id}`, await call(`${base}/volumes/${id}`, { headers }), 200).body.volume.status;
    if (status === "available") break;
    if (status.startsWith("error")) throw new Error(`volume ${id} went to ${status}`);
    await sleep(100);
  }
  expectStatus("os-set_bootable", await call(`${base}/volumes/${id}/action`, { method: "POST", headers, body: { "os-set_bootable": { bootable: true } } }), 200);
  return id;
}

void main();
