/**
 * `npm start` as an operator meets it: lab/start.ts runs as a child process on free ports; the
 * test waits for its "ready" line, then follows the curl lines it printed (parsed from its
 * output, sent with undici): boot the demo node, watch the request, look at the demo BMC, undeploy.
 * Last, SIGINT must stop everything: exit 0, every port closed.
 *
 * Slow by nature (esbuild bundles the functions, each first invocation loads a worker): the
 * timeouts are generous for a 2-core CI machine running other suites alongside.
 *
 * SANBOOT_TEST_START_QEMU=1 runs it as `npm start -- --qemu`: the demo node is a QEMU VM that
 * boots the demo volume for real, and its console (printed as [vm] lines) must show the OS.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createConnection, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { Agent, request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const ROOT = join(__dirname, "..", "..");
const QEMU = process.env["SANBOOT_TEST_START_QEMU"] === "1";
const READY_TIMEOUT_MS = 240_000;

interface Curl {
  method: string;
  url: string;
  headers: Record<string, string>;
  body?: string;
  cacert?: string;
  user?: string;
}

/** The curl line of the printed output that contains `marker`, taken apart. */
function curlLine(output: string, marker: string): Curl {
  const line = output.split("\n").find((l) => l.trim().startsWith("curl ") && l.includes(marker));
  if (!line) throw new Error(`no curl line with ${marker} in the output:\n${output}`);
  const headers: Record<string, string> = {};
  for (const m of line.matchAll(/-H '([^:']+):\s*([^']*)'/g)) headers[m[1]!.toLowerCase()] = m[2]!;
  return {
    method: /-X (\w+)/.exec(line)?.[1] ?? "GET",
    url: /'?(https?:\/\/[^\s']+)'?\s*$/.exec(line.trim())![1]!,
    headers,
    body: /-d '([^']*)'/.exec(line)?.[1],
    cacert: /--cacert (\S+)/.exec(line)?.[1],
    user: /-u (\S+)/.exec(line)?.[1],
  };
}

async function send(c: Curl, opts: { url?: string; dispatcher?: Agent } = {}): Promise<{ status: number; body: any }> {
  const headers = { ...c.headers };
  if (c.user) headers.authorization = `Basic ${Buffer.from(c.user).toString("base64")}`;
  const res = await request(opts.url ?? c.url, { method: c.method as "GET", headers, body: c.body, dispatcher: opts.dispatcher, headersTimeout: 60_000, bodyTimeout: 60_000 });
  const text = await res.body.text();
  return { status: res.statusCode, body: text ? JSON.parse(text) : null };
}

async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: n }, () => new Promise<ReturnType<typeof createServer>>((resolve) => {
      const s = createServer();
      s.listen(0, "127.0.0.1", () => resolve(s));
    })),
  );
  const ports = servers.map((s) => (s.address() as { port: number }).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host: "127.0.0.1" });
    socket.once("connect", () => (socket.destroy(), resolve(true)));
    socket.once("error", () => resolve(false));
  });
}

async function poll<T>(what: string, read: () => Promise<T>, done: (v: T) => boolean, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  while (Date.now() < deadline) {
    last = await read();
    if (done(last)) return last;
    await sleep(250);
  }
  throw new Error(`${what}: not reached in ${timeoutMs} ms; last: ${JSON.stringify(last)}`);
}

let proc: ChildProcess;
let output = "";
let exited: Promise<number | null>;
let ports: Record<string, number>;
let localDir: string;
const timings: Record<string, number> = {};

beforeAll(async () => {
  const [http, lambda, dynamodb, cinder, bmc] = await freePorts(5);
  ports = { http: http!, lambda: lambda!, dynamodb: dynamodb!, cinder: cinder!, bmc: bmc! };
  localDir = mkdtempSync(join(tmpdir(), "sanboot-start-"));
  const started = Date.now();
  proc = spawn(process.execPath, [join(ROOT, "node_modules/tsx/dist/cli.mjs"), "lab/start.ts", ...(QEMU ? ["--qemu"] : [])], {
    cwd: ROOT,
    // its own process group, so that afterAll can take down whatever a failed run leaves
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: {
      ...process.env,
      SANBOOT_HTTP_PORT: String(ports.http),
      SANBOOT_LAMBDA_PORT: String(ports.lambda),
      SANBOOT_DYNAMODB_PORT: String(ports.dynamodb),
      SANBOOT_CINDER_PORT: String(ports.cinder),
      SANBOOT_BMC_PORT: String(ports.bmc),
      SANBOOT_LOCAL_DIR: localDir,
      SANBOOT_SWEEP_SECONDS: "2",
      SANBOOT_BMC_POWER_DELAY_MS: "200",
      SANBOOT_LOG_LEVEL: "warn",
    },
  });
  proc.stdout!.on("data", (d: Buffer) => (output += d.toString()));
  proc.stderr!.on("data", (d: Buffer) => (output += d.toString()));
  exited = new Promise((resolve) => proc.once("exit", (code) => resolve(code)));
  const ready = await Promise.race([
    poll("the ready line", async () => output, (o) => /sanboot is ready after/.test(o), READY_TIMEOUT_MS).then(() => true),
    exited.then(() => false),
  ]);
  if (!ready) throw new Error(`lab/start.ts exited before it was ready:\n${output}`);
  timings.ready = Date.now() - started;
}, READY_TIMEOUT_MS + 10_000);

afterAll(async () => {
  // normally the last test has stopped it; a failed run must not leave servers behind
  if (proc?.exitCode === null && proc.signalCode === null) {
    try {
      process.kill(-proc.pid!, "SIGKILL");
    } catch {
      // gone
    }
  }
  for (const pid of output.matchAll(/started, pid (\d+)/g)) {
    try {
      process.kill(-Number(pid[1]), "SIGKILL");
    } catch {
      // gone
    }
  }
  if (localDir) rmSync(localDir, { recursive: true, force: true });
  console.log(`offline stack timings (ms): ${JSON.stringify(timings)}`);
});

describe(`npm start${QEMU ? " -- --qemu" : ""}: the whole stack under serverless-offline, driven by the curl lines it prints`, () => {
  it("boots the demo node from the demo volume, shows the target on its BMC, and undeploys", async () => {
    const boot = curlLine(output, "-X POST");
    expect(boot.method).toBe("POST");
    const watch = curlLine(output, "/v1/boot-requests/$REQUEST_ID");
    const bmcFn = curlLine(output, "NetworkDeviceFunctions");
    const undeploy = curlLine(output, "-X DELETE");
    const cinderUrl = /Cinder\s+(http\S+\/v3\/\S+)/.exec(output)![1]!;
    const project = cinderUrl.split("/").pop()!;
    const bmcAgent = new Agent({ connect: { ca: readFileSync(bmcFn.cacert!, "utf8") } });

    const systemId0 = /\/Chassis\/([^/]+)\//.exec(bmcFn.url)![1]!;
    const system0 = (await send({ method: "GET", url: `${new URL(bmcFn.url).origin}/_lab/systems/${systemId0}`, headers: {} }, { dispatcher: bmcAgent })).body;
    const started = Date.now();
    const accepted = await send(boot);
    expect(accepted.status).toBe(202);
    const requestId: string = accepted.body.request_id;
    const volumeId: string = JSON.parse(boot.body!).volume_id;
    const requestUrl = watch.url.replace("$REQUEST_ID", requestId);

    const active = await poll("active", async () => (await send(watch, { url: requestUrl })).body, (b) => ["active", "failed"].includes(b?.state), 120_000);
    timings.bootToActive = Date.now() - started;
    expect(active.error).toBeNull();
    expect(active.state).toBe("active");
    expect(active.boot_confirmed).toBe(true);
    expect(active.history.map((h: { state: string }) => h.state)).toEqual(["accepted", "connector_ready", "attached", "firmware_configured", "booting", "active"]);
    const target = active.target.paths[0];

    // the BMC's NetworkDeviceFunction, as the printed curl line shows it
    const fn = await send(bmcFn, { dispatcher: bmcAgent });
    expect(fn.status).toBe(200);
    expect(fn.body.iSCSIBoot.PrimaryTargetName).toBe(target.iqn);
    // and the emulator's full view of the system (CHAP secret included)
    const systemId = /\/Chassis\/([^/]+)\//.exec(bmcFn.url)![1]!;
    const labUrl = `${new URL(bmcFn.url).origin}/_lab/systems/${systemId}`;
    const system = (await send({ method: "GET", url: labUrl, headers: {} }, { dispatcher: bmcAgent })).body;
    const port = system.functions.find((f: { uri: string }) => bmcFn.url.endsWith(f.uri));
    expect(`${port.iSCSIBoot.PrimaryTargetIPAddress}:${port.iSCSIBoot.PrimaryTargetTCPPort}`).toBe(target.portal);
    expect(port.iSCSIBoot.PrimaryLUN).toBe(target.lun);
    expect(port.iSCSIBoot.AuthenticationMethod).toBe("CHAP");
    expect(port.iSCSIBoot.CHAPSecret).toBeTruthy();
    expect(system.PowerState).toBe("On");
    if (QEMU) {
      // a real boot: the VM's firmware and the OS on the volume, on the console npm start shows
      expect(output).toMatch(/\[vm \S+\] Booting from SAN device 0x80/);
      expect(output).toMatch(/\[vm \S+\] SANBOOT-LAB-OS-RUNNING/);
      expect(active.boot_evidence).toMatch(/OSRunning/);
    }

    const cinderHeaders = { "x-auth-token": `admin:${project}`, "openstack-api-version": "volume 3.70" };
    const volume = async () => (await send({ method: "GET", url: `${cinderUrl}/volumes/${volumeId}`, headers: cinderHeaders })).body.volume;
    expect((await volume()).status).toBe("in-use");

    expect((await send(undeploy)).status).toBe(202);
    const detached = await poll("detached", async () => (await send(watch, { url: requestUrl })).body, (b) => ["detached", "failed"].includes(b?.state), 120_000);
    expect(detached.state).toBe("detached");
    expect((await volume()).status).toBe("available");
    const cleared = (await send({ method: "GET", url: labUrl, headers: {} }, { dispatcher: bmcAgent })).body;
    expect(cleared.functions.find((f: { uri: string }) => bmcFn.url.endsWith(f.uri)).iSCSIBoot.PrimaryTargetName ?? "").toBe("");
    expect(cleared.PowerState).toBe("Off");
    // the override someone left on the demo system (a one-time PXE boot) is back as it was
    expect(cleared.Boot).toEqual(system0.Boot);
    await bmcAgent.close();
  }, 300_000);

  it("stops everything it started on SIGINT and exits 0", async () => {
    const started = Date.now();
    proc.kill("SIGINT");
    const code = await Promise.race([exited, sleep(60_000).then(() => "still running")]);
    timings.stop = Date.now() - started;
    expect(code, output.slice(-3000)).toBe(0);
    expect(output).toContain("[start] stopped");
    for (const [name, port] of Object.entries(ports)) {
      expect(await portOpen(port), `${name} port ${port}`).toBe(false);
    }
    for (const pid of output.matchAll(/(\w+) started, pid (\d+)/g)) {
      expect(() => process.kill(Number(pid[2]), 0), `${pid[1]} (pid ${pid[2]}) still running`).toThrow();
    }
  }, 90_000);
});
