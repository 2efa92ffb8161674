import type { AddressInfo } from "node:net";
import { createServer } from "node:net";

/** A port that was free a moment ago (the OS picks it); good enough for local test services. */
export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((ok) => srv.listen(0, "127.0.0.1", ok));
  const { port } = srv.address() as AddressInfo;
  await new Promise((ok) => srv.close(ok));
  return port;
}
