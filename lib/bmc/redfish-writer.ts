/**
 * The write policy every Redfish change goes through: plan from a fresh read, PATCH with that
 * read's ETag, re-read and re-plan on 412; then settle the answer: a 202 with a task monitor or
 * job in `Location` is followed to its end (or, for a write applied at the next reset, until it
 * says it is scheduled), and a write into a settings object is reported as pending.
 */
import { SanbootError } from "../errors";
import type { BmcEndpoint, PendingSettings } from "./driver";
import { appliedSince, describeMessages, settingsFailures, taskProgress, type MessageSummary, type TaskProgress, type WriteTarget } from "./redfish-settings";
import type { RedfishBody, RedfishReply, RedfishTransport } from "./redfish-transport";
import type { SettingsAnnotation, TaskLike } from "./redfish-types";

/** A write decided from a fresh read: where to PATCH, what, and which ETag guards it. */
export interface PlannedPatch {
  uri: string;
  body: RedfishBody;
  etag: string | undefined;
}

export interface WriterOptions {
  etagRetries: number;
  pollIntervalMs: number;
  /** how long a running task may take before the write is reported pending on it */
  taskTimeoutMs: number;
  /** how long a wait for settings to apply takes at most without a budget */
  settingsApplyTimeoutMs: number;
  sleep: (ms: number) => Promise<void>;
  now: () => number;
  /** told of every 412: someone wrote in between, so what is known of the tree is suspect too */
  onPreconditionFailed?: () => void;
}

export class RedfishWriter {
  constructor(
    readonly t: RedfishTransport,
    readonly ep: BmcEndpoint,
    private readonly opts: WriterOptions,
  ) {}

  /**
   * Plans from a fresh read and PATCHes with that read's ETag; a 412 means someone wrote in
   * between, so read again and re-plan (the write may no longer be needed). Returns the accepted
   * PATCH's reply, or null when the plan found nothing to do.
   */
  async patchFresh(plan: () => Promise<PlannedPatch | null>): Promise<RedfishReply | null> {
    for (let attempt = 0; ; attempt++) {
      const p = await plan();
      if (!p) return null;
      try {
        return await this.t.patch(p.uri, p.body, p.etag);
      } catch (err) {
        if (!(err instanceof SanbootError && err.code === "BMC_ETAG_MISMATCH")) throw err;
        this.opts.onPreconditionFailed?.();
        if (attempt < this.opts.etagRetries) continue;
        throw err;
      }
    }
  }

  /**
   * What an accepted write means. A 202 with `Location` is a task monitor (or a Dell job): poll it
   * until it completes (undefined: in force), fails (BMC_SETTINGS_FAILED with its messages), or says it
   * waits for a reset (pending on it). A write into a settings object with no task is pending
   * unless it was asked Immediate.
   */
  async settle(reply: RedfishReply, target: WriteTarget & { resourceUri: string }): Promise<PendingSettings | undefined> {
    const base = { resource_uri: target.resourceUri, settings_uri: target.uri, apply_time: target.applyTime ?? "OnReset" };
    if (reply.status === 202 && reply.location) {
      const outcome = await this.followTask(reply.location, target.applyTime);
      if (outcome === "completed") return target.deferred && target.applyTime !== "Immediate" ? await this.stillPending(base) : undefined;
      return { ...base, task_uri: reply.location };
    }
    if (!target.deferred || target.applyTime === "Immediate") return undefined;
    return base;
  }

  now(): number {
    return this.opts.now();
  }

  /**
   * The end of a wait of `timeoutMs` (default `fallbackMs`), never past the caller's budget.
   */
  deadline(timeoutMs: number | undefined, fallbackMs: number): number {
    const own = this.opts.now() + (timeoutMs ?? fallbackMs);
    return this.ep.budget ? Math.min(own, this.ep.budget.deadline) : own;
  }

  /** Sleeps between polls; ends the wait at once when the caller's work is abandoned. */
  async pause(untilMs: number): Promise<void> {
    if (this.ep.budget?.signal?.aborted) throw new SanbootError("LEASE_LOST", "wait abandoned: the command is no longer this relay's");
    await this.opts.sleep(Math.min(this.opts.pollIntervalMs, Math.max(0, untilMs - this.opts.now())));
    if (this.ep.budget?.signal?.aborted) throw new SanbootError("LEASE_LOST", "wait abandoned: the command is no longer this relay's");
  }

  /** Polls a task monitor / job; "completed", or "waiting" when it waits for a reset or ran long. */
  async followTask(uri: string, applyTime: string | undefined, timeoutMs?: number): Promise<"completed" | "waiting"> {
    const deadline = this.deadline(timeoutMs, this.opts.taskTimeoutMs);
    for (;;) {
      const progress = await this.taskState(uri, applyTime);
      if (progress.state === "completed") return "completed";
      if (progress.state === "failed") throw failed(`task ${uri}`, progress.messages);
      if (progress.state === "scheduled" || this.opts.now() >= deadline) return "waiting";
      await this.pause(deadline);
    }
  }

  async taskState(uri: string, applyTime: string | undefined): Promise<TaskProgress> {
    const reply = await this.t.get(uri);
    return taskProgress(reply.status, reply.body as TaskLike, applyTime);
  }

  /**
   * A task that completed may only have validated and staged the settings: they are pending
   * until the resource shows them (the settings object is a subset of it).
   */
  private async stillPending(base: Omit<PendingSettings, "task_uri">): Promise<PendingSettings | undefined> {
    return (await this.settingsState(base)) === "applied" ? undefined : base;
  }

  /**
   * Applied when the resource's `@Redfish.Settings` Time / ETag moved past the write's (then its
   * Messages say whether it failed); where the BMC publishes neither, when the resource holds all
   * its settings object asks (failure messages first: a BMC that drops failed values leaves a
   * settings object the resource "holds").
   */
  async settingsState(p: Pick<PendingSettings, "resource_uri" | "settings_uri" | "since">): Promise<"applied" | "pending"> {
    const resource = (await this.t.get(p.resource_uri)).body;
    const applied = p.since ? appliedSince(resource, p.since) : undefined;
    if (applied === false) return "pending";
    const failures = settingsFailures(resource["@Redfish.Settings"] as SettingsAnnotation | undefined);
    // Failure first: a BMC that drops the failed values leaves a settings object the resource "holds".
    if (failures.length > 0) throw failed(`settings ${p.settings_uri}`, failures);
    if (applied === true) return "applied";
    const settings = (await this.t.get(p.settings_uri)).body;
    return contains(resource, settings) ? "applied" : "pending";
  }

  /** Polls until the pending write applied: by its task when it has one, else its settings object. */
  async awaitApplied(p: PendingSettings, timeoutMs?: number): Promise<void> {
    const deadline = this.deadline(timeoutMs, this.opts.settingsApplyTimeoutMs);
    for (;;) {
      if (p.task_uri) {
        const progress = await this.taskState(p.task_uri, p.apply_time);
        if (progress.state === "failed") throw failed(`job ${p.task_uri}`, progress.messages);
        if (progress.state === "completed") return;
      } else if ((await this.settingsState(p)) === "applied") return;
      if (this.opts.now() >= deadline) {
        throw new SanbootError(
          "BMC_POWER_TIMEOUT",
          `settings ${p.settings_uri} still pending when the time ran out (applied at ${p.apply_time}: reset the system)`,
          { retryable: true },
        );
      }
      await this.pause(deadline);
    }
  }
}

export function failed(what: string, messages: MessageSummary[]): SanbootError {
  return new SanbootError("BMC_SETTINGS_FAILED", `BMC reported ${what} failed${messages.length ? `: ${describeMessages(messages)}` : ""}`, {
    details: messages.map((m) => ({ message: `${m.id}: ${m.message}` })),
  });
}

const IGNORED = /^(@|Id$|Name$|Description$)|@/;

/**
 * Does `resource` hold what `pending` (a settings object's body) asks? Annotations and ids are
 * ignored; `{}` in an array leaves that element alone (Redfish PATCH array semantics); null asks
 * for blank (and is what write-only secrets read as).
 */
export function contains(resource: unknown, pending: unknown): boolean {
  if (Array.isArray(pending)) {
    return pending.every((v, i) => (isObject(v) && Object.keys(v).length === 0) || contains(Array.isArray(resource) ? resource[i] : undefined, v));
  }
  if (isObject(pending)) {
    return Object.entries(pending)
      .filter(([k]) => !IGNORED.test(k))
      .every(([k, v]) => contains(isObject(resource) ? resource[k] : undefined, v));
  }
  if (pending === null) return resource === null || resource === undefined || resource === "";
  return resource === pending;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
