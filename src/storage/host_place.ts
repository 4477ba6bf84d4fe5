/**
 * What Node, Bun and Deno give a backend: files, TCP, and the code of the backends that need them
 * (the filesystem and Redis over TCP, with `@redis/client`). Kept apart from the selection rule so
 * that a Worker's bundle, which imports the rule, holds none of that code.
 * @module
 */
import type { StoragePlace } from "../core/storage.ts";

/** The host runtimes' place, for the one selection rule of `drivers.ts`. */
export const HOST_PLACE: StoragePlace = {
  name: "this runtime",
  fileSystem: true,
  tcp: true,
  instead: "",
  load: {
    redis: () => import("./redis/tcp_storage.ts"),
    filesystem: () => import("./filesystem/storage.ts"),
  },
};
