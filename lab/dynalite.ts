/**
 * The embedded DynamoDB-compatible store for local runs and tests (dynalite, in memory).
 * Lab code: reached by the service only over HTTP, like DynamoDB itself.
 */
import type { AddressInfo } from "node:net";
import dynalite from "dynalite";

export interface RunningStore {
  endpoint: string;
  port: number;
  close(): Promise<void>;
}

export async function startDynalite(port = 0, host = "127.0.0.1"): Promise<RunningStore> {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  const actual = (server.address() as AddressInfo).port;
  return {
    endpoint: `http://${host}:${actual}`,
    port: actual,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
