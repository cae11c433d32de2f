import type { AddressInfo, Server } from "node:net";

/** Listens on 127.0.0.1 on a port the system picks; resolves with that port (rejects if listening fails). */
export function listenLocal(server: Server): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      server.off("error", reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}
