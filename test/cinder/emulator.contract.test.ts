import { randomBytes } from "node:crypto";
import { afterAll, beforeAll } from "vitest";
import { startCinderEmulator, type CinderEmulator } from "../../lab/cinder-emulator/server";
import { describeCinderContract } from "./contract";

let emulator: CinderEmulator;
const project = randomBytes(16).toString("hex");

beforeAll(async () => {
  emulator = await startCinderEmulator({ port: 0, createDelayMs: 20, portals: ["127.0.0.1:3260", "127.0.0.2:3260"] });
});
afterAll(async () => {
  await emulator.close();
});

describeCinderContract("the lab emulator", () => ({ url: emulator.url, project }), { faults: true });
