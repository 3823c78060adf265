import { afterAll, beforeAll, describe } from "vitest";
import { describeCinderContract } from "./contract";
import { startFaultProxy, type FaultProxy } from "./fault-proxy";

const url = process.env["SANBOOT_TEST_CINDER_URL"];
// the lab's default project (labs/cinder/up.sh); any hex id works with noauth
const project = process.env["SANBOOT_TEST_CINDER_PROJECT"] ?? "2b9f9a3c5d6e4f708192a3b4c5d6e7f8";

// Runs only against a real Cinder: start one with /work/shared/labs/cinder/up.sh and set
// SANBOOT_TEST_CINDER_URL=http://127.0.0.1:8776 (and SANBOOT_TEST_CINDER_PROJECT). Skipped otherwise,
// since a real Cinder needs root, Debian packages and ~90 s to install.
// Both paths run against it: the attachments API, and the legacy actions with the client capped
// below 3.44 (the suite's admin still inspects through the attachments API).
// The suite talks to it through a fault-injecting proxy (fault-proxy.ts), so the failure cases
// (lost answers, failures after a reservation) run against the real Cinder as well. The lab's
// Cinder has no Fibre Channel backend: those cases run against the emulator only.
describe.skipIf(!url)("real Cinder (SANBOOT_TEST_CINDER_URL)", () => {
  let proxy: FaultProxy;
  beforeAll(async () => {
    proxy = await startFaultProxy(url!.replace(/\/+$/, ""));
  });
  afterAll(() => proxy?.close());
  describeCinderContract(`the real Cinder at ${url}`, () => ({ url: proxy.url, project }), { faults: true, mode: "attachments" });
  describeCinderContract(`the real Cinder at ${url}, client capped at 3.43`, () => ({ url: proxy.url, project, clientMaxVersion: "3.43" }), {
    faults: true,
    mode: "legacy",
  });
});
