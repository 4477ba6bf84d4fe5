/**
 * The shared suite's capabilities for the backends on the Redis key schema of
 * `src/storage/redis/scripts.ts` (Upstash, Redis over TCP on one server or a Redis Cluster): lose
 * every key of a prefix, garble or delete one copy of the retired total, garble a process's record,
 * count the scripts the servers ran. Each damage checks that it hit a key that was there, so that a
 * change of the key schema fails the rule instead of damaging nothing.
 */
import type { Storage } from "../../src/core/storage.ts";
import { deleteKeys, scriptCalls } from "../support/redis.ts";
import { RespClient, RespError, type RespValue } from "../support/resp.ts";
import type { StorageCapabilities } from "./conformance.ts";

/** Where a backend's keys are. */
export interface RedisKeyspace {
  /** The servers: one, or every node of a cluster (known once they run). */
  readonly ports: () => readonly number[];
  /** The database number (0 on a cluster). */
  readonly db: number;
  /** What the storage's keys start with: its prefix (Upstash), or the prefix as a hash tag (TCP). */
  readonly base: (storage: Storage) => string;
}

/** Runs `command` on the server that holds `key` (a cluster node answers MOVED for another's). */
async function onOwner(space: RedisKeyspace, key: string, command: Array<string | number>): Promise<RespValue> {
  for (const port of space.ports()) {
    const client = await RespClient.connect(port);
    try {
      const [selected, reply] = await client.send([["SELECT", space.db], command]);
      if (selected instanceof RespError) throw selected;
      if (reply instanceof RespError && reply.message.startsWith("MOVED")) continue;
      if (reply instanceof RespError) throw reply;
      return reply;
    } finally {
      client.close();
    }
  }
  throw new Error(`no server of ${space.ports().join(", ")} holds ${key}`);
}

/** Fails unless `reply` is `expected`: the damage hit what it meant to. */
function hit(reply: RespValue, expected: number, what: string): void {
  if (reply !== expected) throw new Error(`${what}: the reply was ${JSON.stringify(reply)}, not ${expected}`);
}

/** The capabilities every Redis-schema backend has, over `space`. */
export function redisCapabilities(
  space: RedisKeyspace,
): Pick<StorageCapabilities, "loseEverything" | "roundTrips" | "damageRetiredCopy" | "damageRecord" | "addStray"> {
  return {
    loseEverything: async (s) => {
      for (const port of space.ports()) await deleteKeys(port, `${space.base(s)}:*`, space.db);
    },
    roundTrips: async () => {
      let calls = 0;
      for (const port of space.ports()) calls += await scriptCalls(port);
      return calls;
    },
    // Two hashes, series key -> total: a garbled value in one, or one hash gone.
    damageRetiredCopy: async (s, { copy, how }, series) => {
      const key = `${space.base(s)}:${copy === 0 ? "retired" : "retired:copy"}`;
      if (how === "garble") hit(await onOwner(space, key, ["HSET", key, series, "garbage"]), 0, `HSET ${key}`);
      else hit(await onOwner(space, key, ["DEL", key]), 1, `DEL ${key}`);
    },
    // A process's record is its field in `procs`, `heartbeat|exited`: a heartbeat that is no number.
    damageRecord: async (s, id) => {
      const procs = `${space.base(s)}:procs`;
      await onOwner(space, procs, ["HSET", procs, id, "garbage"]);
      return async () => {
        hit(await onOwner(space, procs, ["HDEL", procs, id]), 1, `HDEL ${procs}`);
        const series = `${space.base(s)}:series:${id}`;
        await onOwner(space, series, ["DEL", series]);
      };
    },
    addStray: { lacks: "it reads its own keys by name, never by listing: a foreign key is never read" },
  };
}
