/**
 * Redis over TCP against real redis-server processes: the shared backend suite on one server (a
 * non-zero database) and on a three-node Redis Cluster (round trips counted from each server's
 * `INFO commandstats`), then what only TCP Redis has: the hash-tagged keys in the configured
 * database, scripts the server lost, the faults (a wrong password, an unreachable host, a
 * restart) and the settings.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { ConfigError, StorageError } from "../../src/core/errors.ts";
import type { ProcessUpdate } from "../../src/core/storage.ts";
import { RedisStorage } from "../../src/storage/redis/tcp_storage.ts";
import { chooseStorage } from "../../src/storage/drivers.ts";
import { HOST_PLACE } from "../../src/storage/host_place.ts";
import { envFromObject } from "../../src/core/env.ts";
import { until } from "../support/poll.ts";
import { type RedisCluster, type RedisServer, startRedis, startRedisCluster } from "../support/redis.ts";
import { RespClient } from "../support/resp.ts";
import { testStorage } from "./conformance.ts";
import { redisCapabilities, type RedisKeyspace } from "./redis_capabilities.ts";

const DB = 3;
let redis: RedisServer;
let cluster: RedisCluster;
let prefixes = 0;
before(async () => {
  [redis, cluster] = await Promise.all([startRedis({ persistent: true }), startRedisCluster()]);
});
after(async () => {
  await Promise.all([redis?.stop(), cluster?.stop()]);
});

const opened: RedisStorage[] = [];
after(() => Promise.all(opened.map((s) => s.close())));
function storage(options: ConstructorParameters<typeof RedisStorage>[0]): RedisStorage {
  const s = new RedisStorage(options);
  opened.push(s);
  return s;
}

const tcp = (space: Omit<RedisKeyspace, "base">) =>
  redisCapabilities({ ...space, base: (s) => `{${(s as RedisStorage).keyPrefix}}` });

testStorage(
  "redis",
  ({ tombstoneTtlMs }) =>
    storage({ url: `redis://127.0.0.1:${redis.port}/${DB}`, keyPrefix: `conf${++prefixes}`, tombstoneTtlMs }),
  {
    tombstoneClock: "server",
    publishAndRead: true,
    retiredInAnswers: true,
    ...tcp({ ports: () => [redis.port], db: DB }),
  },
);

testStorage(
  "redis cluster",
  ({ tombstoneTtlMs }) =>
    storage({
      url: `redis://127.0.0.1:${cluster.ports[prefixes % 3]}`,
      cluster: true,
      keyPrefix: `cluster${++prefixes}`,
      tombstoneTtlMs,
    }),
  {
    tombstoneClock: "server",
    publishAndRead: true,
    retiredInAnswers: true,
    ...tcp({ ports: () => cluster.ports, db: 0 }),
  },
);

function update(id: string, heartbeat: number, series: Record<string, string>): ProcessUpdate {
  return {
    processId: id,
    heartbeat,
    exited: false,
    descriptors: new Map([["c_total", { type: "counter", help: "c" }]]),
    series: new Map(Object.entries(series)),
  };
}

describe("redis storage", () => {
  test("keys carry the prefix as a hash tag, in the configured database only", async () => {
    const s = storage({ url: `redis://127.0.0.1:${redis.port}/${DB}`, keyPrefix: "tagged" });
    await s.publish(update("a", 1, { c_total: "1" }));
    const client = await RespClient.connect(redis.port);
    try {
      const [, keys, , other] = await client.send([["SELECT", DB], ["KEYS", "*tagged*"], ["SELECT", 0], [
        "KEYS",
        "*tagged*",
      ]]);
      assert.deepEqual((keys as string[]).sort(), ["{tagged}:desc", "{tagged}:procs", "{tagged}:series:a"]);
      assert.deepEqual(other, []);
    } finally {
      client.close();
    }
  });

  test("on a cluster every key of a prefix is in one slot, on one node, whichever node the client was given", async () => {
    const s = storage({ url: `redis://127.0.0.1:${cluster.ports[2]}`, cluster: true, keyPrefix: "slotted" });
    for (const id of ["a", "b", "c"]) await s.publish(update(id, 1, { c_total: "1" }));
    const retiredUpdates = new Map([["c_total", "1"]]);
    assert.ok(await s.retire({ expectedVersion: 0, processes: [{ id: "c", heartbeat: 1 }], retiredUpdates }));
    const found: Array<{ port: number; keys: string[] }> = [];
    for (const port of cluster.ports) {
      const client = await RespClient.connect(port);
      try {
        const [keys] = await client.send([["KEYS", "*slotted*"]]);
        if ((keys as string[]).length > 0) found.push({ port, keys: keys as string[] });
      } finally {
        client.close();
      }
    }
    assert.equal(found.length, 1, `one node holds them: ${JSON.stringify(found)}`);
    const [{ port, keys }] = found;
    assert.deepEqual(keys.sort(), [
      "{slotted}:desc",
      "{slotted}:procs",
      "{slotted}:retired",
      "{slotted}:retired:copy",
      "{slotted}:series:a",
      "{slotted}:series:b",
      "{slotted}:tomb:c",
      "{slotted}:version",
    ]);
    const client = await RespClient.connect(port);
    try {
      const slots = await client.send(keys.map((key) => ["CLUSTER", "KEYSLOT", key]));
      assert.equal(new Set(slots).size, 1, `one slot: ${JSON.stringify(slots)}`);
    } finally {
      client.close();
    }
  });

  test("a script the server lost (SCRIPT FLUSH, a restart) is sent again: the publish succeeds", async () => {
    const s = storage({ url: `redis://127.0.0.1:${redis.port}/${DB}`, keyPrefix: "flushed" });
    await s.publish(update("a", 1, { c_total: "1" }));
    const client = await RespClient.connect(redis.port);
    await client.send([["SCRIPT", "FLUSH"]]);
    client.close();
    assert.equal((await s.publish(update("a", 2, { c_total: "2" }))).status, "ok");
    assert.equal((await s.read()).processes[0].series.get("c_total"), "2");
  });

  test("a restart of the server: publishes fail while it is down, then land; nothing published is lost", async () => {
    const s = storage({ url: `redis://127.0.0.1:${redis.port}/${DB}`, keyPrefix: "restart", timeoutMs: 1000 });
    await s.publish(update("a", 1, { c_total: "5" }));
    await redis.restart();
    const landed = await until(
      "a publish after the restart",
      async () => {
        try {
          return (await s.publish(update("a", 2, { c_total: "6" }))).status === "ok";
        } catch (error) {
          assert.ok(error instanceof StorageError, String(error));
          return false;
        }
      },
      20_000,
      100,
    );
    assert.ok(landed);
    assert.equal((await s.read()).processes[0].series.get("c_total"), "6");
  });

  test("a wrong password: a StorageError that says what to check and never shows the password", async () => {
    const secured = await startRedis({ args: ["--requirepass", "right-password"] });
    try {
      const s = storage({ url: `redis://127.0.0.1:${secured.port}`, password: "wrong-password", timeoutMs: 1000 });
      const error = await s.publish(update("a", 1, { c_total: "1" })).catch((e: unknown) => e);
      assert.ok(error instanceof StorageError, String(error));
      assert.match(error.message, /WRONGPASS|invalid username-password/);
      assert.match(error.message, /check REDIS_PASSWORD/);
      assert.doesNotMatch(error.message, /wrong-password|right-password/);
      const fine = storage({ url: `redis://:right-password@127.0.0.1:${secured.port}`, keyPrefix: "pw" });
      assert.equal((await fine.publish(update("a", 1, { c_total: "1" }))).status, "ok");
    } finally {
      await secured.stop();
    }
  });

  test("an unreachable host: a StorageError naming where, within the timeout, and then at once", async () => {
    const s = storage({ host: "127.0.0.1", port: 1, timeoutMs: 1000 });
    let started = Date.now();
    const first = await s.read().catch((e: unknown) => e);
    assert.ok(first instanceof StorageError, String(first));
    assert.match(
      first.message,
      /connection refused by redis:\/\/127\.0\.0\.1:1\/0.*check the host and port in REDIS_URL/,
    );
    assert.ok(Date.now() - started < 3000, "within the connect timeout");
    started = Date.now();
    await assert.rejects(s.read(), StorageError);
    assert.ok(Date.now() - started < 500, "a known outage fails at once");
  });

  test("settings: REDIS_URL or REDIS_HOST/PORT/DB, never both; a cluster has database 0 only; errors name the variable", () => {
    const env = (vars: Record<string, string>) => envFromObject({ REDIS_ENABLED: "true", ...vars });
    assert.equal(
      chooseStorage(env({}), {}, HOST_PLACE)?.kind,
      "redis",
      "REDIS_ENABLED alone: the seed's localhost:6379",
    );
    assert.equal(chooseStorage(env({ REDIS_HOST: "r" }), {}, HOST_PLACE)?.kind, "redis");
    assert.equal(
      chooseStorage(env({ UPSTASH_REDIS_REST_URL: "https://u", UPSTASH_REDIS_REST_TOKEN: "t" }), {}, HOST_PLACE)?.kind,
      "upstash",
    );
    const refused: Array<[Record<string, string>, string, RegExp]> = [
      [{ REDIS_URL: "redis://h", REDIS_HOST: "h" }, "REDIS_URL", /set one or the other/],
      [{ REDIS_URL: "http://h" }, "REDIS_URL", /expected redis:\/\/ or rediss:\/\//],
      [{ REDIS_URL: "redis://h/x" }, "REDIS_URL", /not a database number/],
      [{ REDIS_PORT: "70000" }, "REDIS_PORT", /65535/],
      [{ REDIS_DB: "-1" }, "REDIS_DB", /./],
      [{ REDIS_URL: "redis://h/2", REDIS_CLUSTER: "true" }, "REDIS_DB", /only database 0/],
      [{ REDIS_URL: "redis://:secret@h", REDIS_PASSWORD: "other" }, "REDIS_PASSWORD", /in one place/],
      [{ REDIS_HOST: "h", UPSTASH_REDIS_REST_URL: "https://u" }, "REDIS_HOST", /UPSTASH_REDIS_REST_URL/],
      [{ REDIS_KEY_PREFIX: "a{b}" }, "REDIS_KEY_PREFIX", /brace/],
    ];
    for (const [vars, setting, message] of refused) {
      assert.throws(
        () => chooseStorage(env(vars), {}, HOST_PLACE),
        (e: unknown) =>
          e instanceof ConfigError && e.setting === setting && message.test(e.message) &&
          !e.message.includes("secret"),
        JSON.stringify(vars),
      );
    }
    assert.throws(() => chooseStorage(env({}), { upstash: {}, redis: {} }, HOST_PLACE), /choose one backend/);
    assert.equal(chooseStorage(env({}), { redis: { host: "x" } }, HOST_PLACE)?.kind, "redis");
  });
});
