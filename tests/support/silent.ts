/** A TCP listener on 127.0.0.1 that accepts connections and never answers: a storage that hangs. */
import { createServer, type Socket } from "node:net";

export interface SilentListener {
  readonly port: number;
  /** Drops every connection and stops listening. */
  stop(): Promise<void>;
}

export async function startSilentListener(): Promise<SilentListener> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on("error", () => {});
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as { port: number }).port,
    async stop() {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
