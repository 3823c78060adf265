import { randomBytes } from "node:crypto";
import { afterAll, beforeAll } from "vitest";
import { startCinderEmulator, type CinderEmulator } from "../../lab/cinder-emulator/server";
import { describeCinderContract } from "./contract";

let current: CinderEmulator;
let legacy: CinderEmulator;
const project = randomBytes(16).toString("hex");
// two target ports: Cinder's target_wwn comes as a list
const fc = { volumeType: "fc", targetWwpns: ["500a098186679c7d", "500a098196679c7d"] };
const common = { port: 0, createDelayMs: 20, portals: ["127.0.0.1:3260", "127.0.0.2:3260"], fcBackend: { targetWwpns: fc.targetWwpns } };

beforeAll(async () => {
  current = await startCinderEmulator(common);
  // a Cinder before the attachments API (Ocata's 3.26 and older): the legacy actions only
  legacy = await startCinderEmulator({ ...common, maxVersion: "3.26" });
});
afterAll(async () => {
  await current.close();
  await legacy.close();
});

describeCinderContract("the lab emulator", () => ({ url: current.url, project }), { faults: true, mode: "attachments", fc });
describeCinderContract("the lab emulator capped at 3.26", () => ({ url: legacy.url, project, adminVersion: "3.26" }), { faults: true, mode: "legacy", fc });
