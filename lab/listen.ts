/** Starts a lab server listening and says where to reach it (an address a client can dial). */
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";

export async function listen(server: Server, port = 0, host = "127.0.0.1"): Promise<{ port: number; urlHost: string }> {
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const actual = (server.address() as AddressInfo).port;
  const urlHost = host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host.includes(":") ? `[${host}]` : host;
  return { port: actual, urlHost };
}
