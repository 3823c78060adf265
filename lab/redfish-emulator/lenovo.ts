/**
 * XCC's pending objects: a NetworkDeviceFunction is read-only; its iSCSIBoot is written to
 * `{function}/Pending` (a subset of the properties, CHAP rules enforced), answered 200 with
 * "takes effect after reboot", and applied at the next POST. No `@Redfish.Settings` annotation
 * says so: a client has to know.
 */
import type { FunctionState, SystemState } from "./model";
import { parseFunctionPatch } from "./patch-rules";
import type { ExtendedInfo } from "./redfish-errors";
import type { StageOutcome } from "./staging";

const resetRequired = (): ExtendedInfo => ({
  MessageId: "Base.1.8.ResetRequired",
  Message: "The pending settings were saved and will take effect after reboot.",
  MessageArgs: [],
  Severity: "Warning",
  Resolution: "Reboot the system for the settings to take effect.",
});

export function stageLenovo(sys: SystemState, fn: FunctionState, body: Record<string, unknown>): StageOutcome {
  const parsed = parseFunctionPatch(sys, fn, body, "pending");
  if (!parsed.ok) return parsed;
  const iscsi = parsed.changes.iscsi;
  return {
    ok: true,
    apply: () => {
      if (Object.keys(iscsi).length > 0) {
        const p = (fn.pending ??= {});
        p.iscsiBoot = { ...(p.iscsiBoot ?? {}), ...iscsi };
      }
      fn.settings!.version += 1;
      return { status: 200, body: { "@Message.ExtendedInfo": [resetRequired()] } };
    },
  };
}
