/**
 * One lab machine: a QEMU VM whose NIC boots from iSCSI the way the BMC configured it, with its
 * serial console captured line by line. The Redfish emulator drives it: power on is start(),
 * power off is stop(), BootProgress comes from the console milestones.
 *
 * - start(plan) boots; on a running machine it is a restart (power cycle). It resolves when the
 *   firmware has written its first byte, or rejects with QEMU's own words when QEMU would not
 *   start. start and stop are queued, so a second call waits for the first.
 * - Each machine has its own temp dir (TFTP root with the boot script, which holds the CHAP
 *   secrets, mode 0600; the raw console log; the UEFI variable store, kept across power cycles
 *   like NVRAM). close() stops the VM and removes the dir.
 * - Only the QEMU process this object started is ever signalled, by its PID. The relays QEMU
 *   starts per iSCSI connection end with it (their connection closes). A Node process that exits
 *   with machines still running kills them on its way out; one that is killed takes them along
 *   too where setpriv is there (QEMU runs with a parent-death signal).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConsoleLines } from "./console-lines";
import { consoleMilestone, DEFAULT_OS_MARKER, type ConsoleMilestone, type Milestone } from "./console-milestones";
import { checkIscsiPlan, ipxeScript } from "./ipxe-script";
import { MachineError } from "./machine-errors";
import { BOOT_SCRIPT, qemuArgs, type MachinePaths, type MachinePlan } from "./qemu-args";
import { qemuSupport, type QemuParts } from "./qemu-support";

export interface ConsoleLine {
  text: string;
  /** when it was complete (ms since the epoch, from the injected clock) */
  at: number;
  milestone: ConsoleMilestone | null;
}

export interface MachineExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** true when stop() or close() ended it; false when QEMU went away by itself */
  requested: boolean;
  /** the end of what QEMU wrote to stderr */
  stderr: string;
}

export interface QemuMachineOptions {
  /** the parts to run with (default: qemuSupport(), and UNSUPPORTED when something is missing) */
  parts?: QemuParts;
  memoryMiB?: number;
  mac?: string;
  /** the OS marker for the milestones (default DEFAULT_OS_MARKER) */
  osMarker?: RegExp | string;
  /** where the machine's temp dir goes (default os.tmpdir()) */
  tmpRoot?: string;
  /** how long stop() waits after SIGTERM before SIGKILL */
  stopGraceMs?: number;
  /** how long start() waits for the first console byte before taking QEMU as running anyway */
  firstOutputMs?: number;
  /** lines kept per boot (the oldest go first) */
  maxLines?: number;
  now?: () => number;
  name?: string;
}

const RELAY_SCRIPT = join(__dirname, "iscsi-relay.mjs");
const STDERR_KEPT = 4_096;

// Machines whose QEMU is alive, killed if this Node process exits without closing them.
const live = new Set<ChildProcess>();
let exitHookInstalled = false;
function track(child: ChildProcess): void {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on("exit", () => {
      for (const c of live) c.kill("SIGKILL");
    });
  }
  live.add(child);
}

function partsOrThrow(): QemuParts {
  const support = qemuSupport();
  if (!support.ok) throw new MachineError("UNSUPPORTED", `cannot run a lab machine: ${support.reason}`);
  const { ok: _ok, ...parts } = support;
  return parts;
}

export class QemuMachine {
  private readonly parts: QemuParts;
  private readonly opts: Required<Omit<QemuMachineOptions, "parts">>;
  private dir: string | null = null;
  private child: ChildProcess | null = null;
  private exited: Promise<MachineExit> | null = null;
  private stopping = false;
  private closed = false;
  private queue: Promise<unknown> = Promise.resolve();
  private lines: ConsoleLine[] = [];
  private stderrTail = "";
  private readonly lineListeners = new Set<(line: ConsoleLine) => void>();
  private readonly exitListeners = new Set<(exit: MachineExit) => void>();

  constructor(options: QemuMachineOptions = {}) {
    this.parts = options.parts ?? partsOrThrow();
    this.opts = {
      memoryMiB: options.memoryMiB ?? 256,
      mac: options.mac ?? "52:54:00:12:34:56",
      osMarker: options.osMarker ?? DEFAULT_OS_MARKER,
      tmpRoot: options.tmpRoot ?? tmpdir(),
      stopGraceMs: options.stopGraceMs ?? 5_000,
      firstOutputMs: options.firstOutputMs ?? 30_000,
      maxLines: options.maxLines ?? 5_000,
      now: options.now ?? Date.now,
      name: options.name ?? "sanboot-lab-machine",
    };
    if (!/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/i.test(this.opts.mac)) throw new MachineError("INVALID_PLAN", `MAC '${this.opts.mac}' is not six hex pairs`);
  }

  get running(): boolean {
    return this.child !== null;
  }

  /** QEMU's PID while it runs */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** console lines since the last start */
  get console(): readonly ConsoleLine[] {
    return this.lines;
  }

  /** the lines since the last start that mark a milestone */
  get milestones(): ConsoleMilestone[] {
    return this.lines.flatMap((l) => (l.milestone ? [l.milestone] : []));
  }

  /** the raw serial output of the current (or last) boot; gone after close() */
  get consoleLogPath(): string | null {
    return this.dir ? join(this.dir, "console.log") : null;
  }

  /** the machine's temp dir, once it was started */
  get workDir(): string | null {
    return this.dir;
  }

  /** told every console line as it completes; returns the unsubscribe */
  onLine(listener: (line: ConsoleLine) => void): () => void {
    this.lineListeners.add(listener);
    return () => this.lineListeners.delete(listener);
  }

  /** told when QEMU ends, asked for or not; returns the unsubscribe */
  onExit(listener: (exit: MachineExit) => void): () => void {
    this.exitListeners.add(listener);
    return () => this.exitListeners.delete(listener);
  }

  start(plan: MachinePlan): Promise<void> {
    return this.enqueue(async () => {
      this.assertOpen();
      if (plan.mode !== "bios" && plan.mode !== "uefi") throw new MachineError("INVALID_PLAN", `mode '${String(plan.mode)}' is neither bios nor uefi`);
      if (plan.iscsi) checkIscsiPlan(plan.iscsi);
      await this.halt();
      await this.launch(plan);
    });
  }

  /** VM off and its process gone; nothing when it is off already. */
  stop(): Promise<void> {
    return this.enqueue(() => this.halt());
  }

  /** stop(), then the temp dir removed; the machine cannot be started again. */
  close(): Promise<void> {
    return this.enqueue(async () => {
      if (this.closed) return;
      await this.halt();
      this.closed = true;
      if (this.dir) rmSync(this.dir, { recursive: true, force: true });
      this.dir = null;
    });
  }

  /**
   * The first line since the last start that matches, waiting for it up to timeoutMs. Rejects
   * (TIMEOUT) with the last lines seen, or (QEMU_FAILED) when the machine goes off first.
   */
  waitForLine(match: RegExp | ((line: ConsoleLine) => boolean), timeoutMs: number): Promise<ConsoleLine> {
    const test = typeof match === "function" ? match : (l: ConsoleLine) => match.test(l.text);
    const seen = this.lines.find(test);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const finish = (fn: () => void) => {
        clearTimeout(timer);
        offLine();
        offExit();
        fn();
      };
      const timer = setTimeout(
        () => finish(() => reject(new MachineError("TIMEOUT", `no console line matching ${String(match)} within ${timeoutMs} ms; last lines:\n${this.tail(15)}`))),
        timeoutMs,
      );
      const offLine = this.onLine((l) => {
        if (test(l)) finish(() => resolve(l));
      });
      const offExit = this.onExit((e) => finish(() => reject(new MachineError("QEMU_FAILED", `the machine went off (${e.signal ?? e.code}) before a line matching ${String(match)}; last lines:\n${this.tail(15)}`))));
    });
  }

  /** The first line since the last start marking one of `milestones`. */
  waitForMilestone(milestones: Milestone | Milestone[], timeoutMs: number): Promise<ConsoleLine> {
    const wanted = new Set(Array.isArray(milestones) ? milestones : [milestones]);
    return this.waitForLine((l) => l.milestone !== null && wanted.has(l.milestone.milestone), timeoutMs);
  }

  private tail(n: number): string {
    return this.lines
      .slice(-n)
      .map((l) => `  | ${l.text}`)
      .join("\n");
  }

  private enqueue<T>(work: () => Promise<T>): Promise<T> {
    const next = this.queue.then(work, work);
    this.queue = next.catch(() => undefined);
    return next;
  }

  private assertOpen(): void {
    if (this.closed) throw new MachineError("CLOSED", "the machine was closed");
  }

  private workDirs(): MachinePaths {
    this.dir ??= mkdtempSync(join(this.opts.tmpRoot, "sanboot-machine-"));
    const tftpDir = join(this.dir, "tftp");
    mkdirSync(tftpDir, { recursive: true, mode: 0o700 });
    return {
      tftpDir,
      consoleLog: join(this.dir, "console.log"),
      ovmfVars: join(this.dir, "OVMF_VARS.fd"),
      relayScript: RELAY_SCRIPT,
      node: process.execPath,
    };
  }

  private async launch(plan: MachinePlan): Promise<void> {
    const paths = this.workDirs();
    const script = join(paths.tftpDir, BOOT_SCRIPT);
    rmSync(script, { force: true });
    if (plan.iscsi) writeFileSync(script, ipxeScript(plan.iscsi), { mode: 0o600 });
    if (plan.mode === "uefi" && !existsSync(paths.ovmfVars)) copyFileSync(this.parts.ovmfVars, paths.ovmfVars);

    this.lines = [];
    this.stderrTail = "";
    this.stopping = false;
    const args = qemuArgs(this.parts, plan, paths, { memoryMiB: this.opts.memoryMiB, mac: this.opts.mac, name: this.opts.name });
    // stdin stays an open pipe: the serial console's input side (at EOF QEMU would stop reading it)
    const [cmd, argv] = this.parts.setpriv ? [this.parts.setpriv, ["--pdeathsig", "KILL", "--", this.parts.qemu, ...args]] : [this.parts.qemu, args];
    const child = spawn(cmd, argv, { stdio: ["pipe", "pipe", "pipe"], cwd: this.dir! });
    this.child = child;
    track(child);

    const lines = new ConsoleLines((text) => this.addLine(text));
    let firstByte: () => void = () => undefined;
    const firstOutput = new Promise<void>((resolve) => (firstByte = resolve));
    child.stdout!.on("data", (chunk: Buffer) => {
      firstByte();
      lines.write(chunk);
    });
    child.stderr!.on("data", (chunk: Buffer) => {
      this.stderrTail = (this.stderrTail + chunk.toString("utf8")).slice(-STDERR_KEPT);
    });
    child.stdin!.on("error", () => undefined);

    this.exited = new Promise<MachineExit>((resolve) => {
      let spawnError: Error | null = null;
      child.on("error", (err) => (spawnError = err));
      child.on("close", (code, signal) => {
        lines.flush();
        live.delete(child);
        if (this.child === child) this.child = null;
        const exit: MachineExit = { code, signal, requested: this.stopping, stderr: spawnError ? String(spawnError) : this.stderrTail.trim() };
        for (const l of this.exitListeners) l(exit);
        resolve(exit);
      });
    });

    let waited: ReturnType<typeof setTimeout> | undefined;
    const outcome = await Promise.race([
      firstOutput.then(() => "running" as const),
      this.exited.then((e) => e),
      new Promise<"running">((resolve) => (waited = setTimeout(() => resolve("running"), this.opts.firstOutputMs))),
    ]);
    clearTimeout(waited);
    if (outcome !== "running") {
      throw new MachineError("QEMU_FAILED", `QEMU ended before the firmware started (${outcome.signal ?? `exit ${outcome.code}`}): ${outcome.stderr || "no message"}`);
    }
  }

  private addLine(text: string): void {
    const line: ConsoleLine = { text, at: this.opts.now(), milestone: consoleMilestone(text, this.opts.osMarker) };
    this.lines.push(line);
    if (this.lines.length > this.opts.maxLines) this.lines.splice(0, this.lines.length - this.opts.maxLines);
    for (const l of this.lineListeners) l(line);
  }

  /** The running QEMU (ours, by PID) ended: SIGTERM, then SIGKILL after the grace period. */
  private async halt(): Promise<void> {
    const child = this.child;
    const exited = this.exited;
    if (!child || !exited) return;
    this.stopping = true;
    child.kill("SIGTERM");
    let grace: ReturnType<typeof setTimeout> | undefined;
    const inTime = await Promise.race([exited.then(() => true), new Promise<boolean>((r) => (grace = setTimeout(() => r(false), this.opts.stopGraceMs)))]);
    clearTimeout(grace);
    if (!inTime) {
      child.kill("SIGKILL");
      await exited;
    }
  }
}
