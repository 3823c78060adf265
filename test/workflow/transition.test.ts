import { describe, expect, it } from "vitest";
import {
  STEP_POLICY,
  TransitionRejected,
  backoffMs,
  start,
  transition,
  type RequestState,
  type StepName,
  type WorkflowEvent,
  type WorkflowState,
} from "../../lib/workflow";

const T0 = new Date("2026-11-25T10:00:00.000Z");
const later = (ms: number) => new Date(T0.getTime() + ms);
const ok = (step: StepName): WorkflowEvent => ({ type: "step_succeeded", step });
const transient = (step: StepName): WorkflowEvent => ({
  type: "step_failed",
  step,
  error: { code: "CINDER_UNAVAILABLE", message: "503", retryable: true },
});
const permanent = (step: StepName): WorkflowEvent => ({
  type: "step_failed",
  step,
  error: { code: "VOLUME_NOT_BOOTABLE", message: "not bootable", retryable: false },
});

function at(state: RequestState, step: StepName | null, extra: Partial<WorkflowState> = {}): WorkflowState {
  return {
    request_id: "req-1",
    state,
    step,
    attempts: 0,
    undo: [],
    next_attempt_at: null,
    step_deadline_at: null,
    error: null,
    history: [],
    ...extra,
  };
}

describe("start", () => {
  it("records accepted and chains prepare_connector", () => {
    const { state, commands } = start("req-1", T0);
    expect(state.state).toBe("accepted");
    expect(state.step).toBe("prepare_connector");
    expect(state.history).toEqual([{ state: "accepted", at: T0.toISOString(), step: null, attempts: 0, error: null }]);
    expect(commands).toEqual([{ type: "run_step", step: "prepare_connector", fn: "attach" }]);
    // a lost chain is picked up by the sweeper after the step's redispatch delay
    expect(state.next_attempt_at).toBe(later(STEP_POLICY.prepare_connector.redispatchAfterMs).toISOString());
  });
});

describe("forward path: each success moves one state and chains the next step", () => {
  const table: Array<[RequestState, StepName, RequestState, StepName | null, "attach" | "firmware" | null]> = [
    ["accepted", "prepare_connector", "connector_ready", "attach_volume", "attach"],
    ["connector_ready", "attach_volume", "attached", "configure_firmware", "firmware"],
    ["attached", "configure_firmware", "firmware_configured", "power_on", "firmware"],
    ["firmware_configured", "power_on", "booting", "await_boot", "firmware"],
    ["booting", "await_boot", "active", null, null],
  ];
  it.each(table)("%s + %s succeeded → %s, next %s", (from, step, to, next, fn) => {
    const { state, commands } = transition(at(from, step, { attempts: 1 }), ok(step), T0);
    expect(state.state).toBe(to);
    expect(state.step).toBe(next);
    expect(state.attempts).toBe(0);
    expect(state.history.at(-1)).toEqual({ state: to, at: T0.toISOString(), step, attempts: 2, error: null });
    expect(commands).toContainEqual({ type: "publish_state_change", from, to });
    if (next) expect(commands).toContainEqual({ type: "run_step", step: next, fn });
    else {
      expect(commands.filter((c) => c.type === "run_step")).toEqual([]);
      expect(state.next_attempt_at).toBeNull();
    }
    // active keeps the node; only terminal states release it
    expect(commands.some((c) => c.type === "release_node")).toBe(false);
  });
});

describe("retryable failure: backoff until the step's attempts run out", () => {
  it("schedules the next attempt with exponential backoff and bounded jitter", () => {
    const { state, commands } = transition(at("connector_ready", "attach_volume"), transient("attach_volume"), T0);
    expect(state.state).toBe("connector_ready");
    expect(state.attempts).toBe(1);
    expect(state.error?.code).toBe("CINDER_UNAVAILABLE");
    const delay = Date.parse(state.next_attempt_at!) - T0.getTime();
    expect(delay).toBe(backoffMs("req-1", "attach_volume", 1));
    expect(delay).toBeGreaterThanOrEqual(STEP_POLICY.attach_volume.baseDelayMs / 2);
    expect(delay).toBeLessThan(STEP_POLICY.attach_volume.baseDelayMs);
  });

  it("triggers the retry at its backoff time, not at the sweeper's next round", () => {
    const { state, commands } = transition(at("connector_ready", "attach_volume"), transient("attach_volume"), T0);
    const backoff = backoffMs("req-1", "attach_volume", 1);
    expect(commands).toEqual([{ type: "run_step", step: "attach_volume", fn: "attach", delay_ms: backoff }]);
    // the sweeper's due time is the same moment: it catches a trigger that was lost
    expect(state.next_attempt_at).toBe(later(backoff).toISOString());
  });

  it.each<[StepName, number]>([
    ["configure_firmware", 1],
    ["clear_firmware", 4],
    ["detach_volume", 2],
  ])("the retry of %s after attempt %i is triggered with the delay the policy gives it", (step, attempts) => {
    const from: RequestState = step === "configure_firmware" ? "attached" : "detaching";
    const s = at(from, step, { attempts, undo: step === "configure_firmware" ? [] : [step as "clear_firmware" | "detach_volume"] });
    const now = later(3_600_000);
    const r = transition(s, transient(step), now);
    const backoff = backoffMs("req-1", step, attempts + 1);
    expect(r.commands).toEqual([{ type: "run_step", step, fn: STEP_POLICY[step].fn, delay_ms: backoff }]);
    expect(Date.parse(r.state.next_attempt_at!)).toBe(now.getTime() + backoff);
  });

  it.each<[StepName, number]>([
    ["attach_volume", 3],
    ["configure_firmware", 2],
  ])("backoff of %s doubles per attempt and stays under the cap (attempt %i)", (step, n) => {
    const p = STEP_POLICY[step];
    const d = backoffMs("req-x", step, n);
    const exp = Math.min(p.maxDelayMs, p.baseDelayMs * 2 ** (n - 1));
    expect(d).toBeGreaterThanOrEqual(exp / 2);
    expect(d).toBeLessThan(exp);
    expect(backoffMs("req-x", step, n)).toBe(d); // deterministic
  });

  it("the last allowed attempt failing rolls back", () => {
    const max = STEP_POLICY.attach_volume.maxAttempts;
    const { state, commands } = transition(at("connector_ready", "attach_volume", { attempts: max - 1 }), transient("attach_volume"), T0);
    expect(state.state).toBe("rolling_back");
    expect(state.step).toBe("detach_volume");
    expect(state.history.at(-1)).toMatchObject({ state: "rolling_back", step: "attach_volume", attempts: max });
    expect(commands).toContainEqual({ type: "run_step", step: "detach_volume", fn: "attach" });
  });
});

describe("permanent failure rolls back exactly what the failed step may have done", () => {
  const table: Array<[RequestState, StepName, RequestState, StepName[]]> = [
    ["accepted", "prepare_connector", "failed", []],
    ["connector_ready", "attach_volume", "rolling_back", ["detach_volume"]],
    ["attached", "configure_firmware", "rolling_back", ["clear_firmware", "detach_volume"]],
    ["firmware_configured", "power_on", "rolling_back", ["clear_firmware", "detach_volume"]],
    ["booting", "await_boot", "rolling_back", ["clear_firmware", "detach_volume"]],
  ];
  it.each(table)("%s + %s failed → %s undoing %j", (from, step, to, undo) => {
    const { state, commands } = transition(at(from, step), permanent(step), T0);
    expect(state.state).toBe(to);
    expect(state.undo).toEqual(undo);
    expect(state.step).toBe(undo[0] ?? null);
    expect(state.error).toEqual({ code: "VOLUME_NOT_BOOTABLE", message: "not bootable", retryable: false });
    expect(commands.some((c) => c.type === "release_node")).toBe(to === "failed");
  });
});

describe("undo", () => {
  it("runs each undo step in order, then fails the request and releases the node", () => {
    let s = at("rolling_back", "clear_firmware", { undo: ["clear_firmware", "detach_volume"] });
    let r = transition(s, ok("clear_firmware"), T0);
    expect(r.state.state).toBe("rolling_back");
    expect(r.state.step).toBe("detach_volume");
    expect(r.commands).toEqual([{ type: "run_step", step: "detach_volume", fn: "attach" }]);
    s = r.state;
    r = transition(s, ok("detach_volume"), T0);
    expect(r.state.state).toBe("failed");
    expect(r.state.step).toBeNull();
    expect(r.commands).toContainEqual({ type: "release_node" });
  });

  it("an undo step that gives up is recorded and the remaining undo still runs", () => {
    const max = STEP_POLICY.clear_firmware.maxAttempts;
    const s = at("detaching", "clear_firmware", { undo: ["clear_firmware", "detach_volume"], attempts: max - 1 });
    const r = transition(s, { type: "step_failed", step: "clear_firmware", error: { code: "BMC_UNREACHABLE", message: "gone", retryable: true } }, T0);
    expect(r.state.state).toBe("detaching");
    expect(r.state.step).toBe("detach_volume");
    expect(r.state.error?.code).toBe("BMC_UNREACHABLE");
    expect(r.state.error?.message).toMatch(/clear_firmware did not finish/);
  });

  it("undeploy of an active request clears the firmware then detaches, ending detached", () => {
    const r = transition(at("active", null), { type: "undeploy_requested" }, T0);
    expect(r.state.state).toBe("detaching");
    expect(r.state.undo).toEqual(["clear_firmware", "detach_volume"]);
    const end = transition(transition(r.state, ok("clear_firmware"), T0).state, ok("detach_volume"), T0);
    expect(end.state.state).toBe("detached");
    expect(end.commands).toContainEqual({ type: "release_node" });
  });

  it("undeploy while still attaching undoes only the attachment", () => {
    const r = transition(at("connector_ready", "attach_volume"), { type: "undeploy_requested" }, T0);
    expect(r.state.undo).toEqual(["detach_volume"]);
  });

  it("undeploy before anything was attached ends at once", () => {
    const r = transition(at("accepted", "prepare_connector"), { type: "undeploy_requested" }, T0);
    expect(r.state.state).toBe("detached");
    expect(r.commands).toContainEqual({ type: "release_node" });
  });
});

describe("waiting on the relay", () => {
  it("sets a deadline on the first wait and rechecks no later than it", () => {
    const recheck = later(1_000).toISOString();
    const r = transition(at("attached", "configure_firmware"), { type: "step_waiting", step: "configure_firmware", recheck_at: recheck }, T0);
    expect(r.state.state).toBe("attached");
    expect(r.state.step_deadline_at).toBe(later(STEP_POLICY.configure_firmware.waitDeadlineMs).toISOString());
    expect(r.state.next_attempt_at).toBe(recheck);
    expect(r.commands).toEqual([]);
  });

  it("a wait that nobody reports on (poll) is looked at again by a delayed trigger at the recheck time", () => {
    const r = transition(at("connector_ready", "attach_volume"), { type: "step_waiting", step: "attach_volume", recheck_at: later(12_000).toISOString(), poll: true }, T0);
    expect(r.state.attempts).toBe(0);
    expect(r.state.next_attempt_at).toBe(later(12_000).toISOString());
    expect(r.state.step_deadline_at).toBe(later(STEP_POLICY.attach_volume.waitDeadlineMs).toISOString());
    expect(r.commands).toEqual([{ type: "run_step", step: "attach_volume", fn: "attach", delay_ms: 12_000 }]);
  });

  it("a poll is never triggered past the wait's deadline", () => {
    const s = at("connector_ready", "attach_volume", { step_deadline_at: later(5_000).toISOString() });
    const r = transition(s, { type: "step_waiting", step: "attach_volume", recheck_at: later(30_000).toISOString(), poll: true }, T0);
    expect(r.commands).toEqual([{ type: "run_step", step: "attach_volume", fn: "attach", delay_ms: 5_000 }]);
  });

  it("a wait past its deadline counts as a retryable STEP_TIMEOUT", () => {
    const s = at("attached", "configure_firmware", { step_deadline_at: later(10).toISOString() });
    const r = transition(s, { type: "step_waiting", step: "configure_firmware", recheck_at: later(100).toISOString() }, later(20));
    expect(r.state.attempts).toBe(1);
    expect(r.state.error?.code).toBe("STEP_TIMEOUT");
    expect(r.state.step_deadline_at).toBeNull();
  });
});

describe("rejections keep stale or duplicate reports from changing anything", () => {
  it("a report for another step than the current one is rejected", () => {
    expect(() => transition(at("attached", "configure_firmware"), ok("attach_volume"), T0)).toThrow(TransitionRejected);
  });
  it.each<RequestState>(["failed", "detached"])("nothing happens to a %s request", (state) => {
    expect(() => transition(at(state, null), { type: "undeploy_requested" }, T0)).toThrow(TransitionRejected);
  });
  it("undeploy twice is rejected", () => {
    expect(() => transition(at("detaching", "clear_firmware", { undo: ["clear_firmware"] }), { type: "undeploy_requested" }, T0)).toThrow(
      TransitionRejected,
    );
  });
});
