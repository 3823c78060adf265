/** What every lab server needs: listening on a port, and reading a request's body. */
import type { IncomingMessage, Server } from "node:http";
import type { AddressInfo } from "node:net";

/** Starts a lab server listening and says where to reach it (an address a client can dial). */
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

/** The whole request body; past `maxBytes` it throws instead of buffering more. */
export async function readBody(req: IncomingMessage, maxBytes = Infinity): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) throw new Error("body too large");
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}
