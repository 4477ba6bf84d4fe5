/**
 * Real redis-server processes (Debian's package) on loopback ports, for one test file: a single
 * server (optionally persistent, so that it can be restarted with its data) or a three-node Redis
 * Cluster joined with `redis-cli --cluster create`. Redis cannot bind port 0 and report it
 * (`--port 0` turns TCP off), so a free port is picked and, when another process takes it
 * first, the start is retried on another.
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RespClient } from "./resp.ts";
import { freePort } from "./runtime.ts";

export interface RedisServer {
  readonly port: number;
  stop(): Promise<void>;
  /** Stops the server (SIGTERM: a persistent one writes its data) and starts it again on the same port. */
  restart(): Promise<void>;
}

export interface RedisOptions {
  /** Keep the data across a restart (append-only file in a temporary directory). */
  readonly persistent?: boolean;
  /** More redis-server arguments (`--requirepass`, `--cluster-enabled`...). */
  readonly args?: readonly string[];
}

export async function startRedis(options: RedisOptions = {}): Promise<RedisServer> {
  const dir = mkdtempSync(join(tmpdir(), "hpe-redis-"));
  const args = [
    ...(options.persistent ? ["--appendonly", "yes", "--appendfsync", "always"] : ["--appendonly", "no"]),
    "--save",
    "",
    "--dir",
    dir,
    ...(options.args ?? []),
  ];
  for (let attempt = 1;; attempt++) {
    const port = await freePort();
    try {
      let stop = await startOn(port, args);
      return {
        port,
        stop: async () => {
          await stop();
          rmSync(dir, { recursive: true, force: true });
        },
        restart: async () => {
          await stop();
          stop = await startOn(port, args);
        },
      };
    } catch (error) {
      if (!(error instanceof PortTaken) || attempt === 5) throw error;
    }
  }
}

/** Three redis-server nodes in cluster mode, all slots assigned, no replicas. */
export interface RedisCluster {
  readonly ports: readonly number[];
  stop(): Promise<void>;
}

export async function startRedisCluster(): Promise<RedisCluster> {
  for (let attempt = 1;; attempt++) {
    const nodes: RedisServer[] = [];
    try {
      // A node also listens on its port + 10000 (the cluster bus): a taken bus port fails the start.
      for (let i = 0; i < 3; i++) {
        nodes.push(await startRedis({ args: ["--cluster-enabled", "yes", "--cluster-node-timeout", "2000"] }));
      }
      const created = spawnSync("redis-cli", [
        "--cluster",
        "create",
        ...nodes.map((n) => `127.0.0.1:${n.port}`),
        "--cluster-replicas",
        "0",
        "--cluster-yes",
      ], { encoding: "utf8", timeout: 30_000 });
      if (created.status !== 0 || !/All 16384 slots covered/.test(created.stdout)) {
        throw new Error(`redis-cli --cluster create failed:\n${created.stdout}\n${created.stderr}`);
      }
      // Every node must agree before clients connect.
      const deadline = Date.now() + 20_000;
      while (!nodes.every((n) => clusterOk(n.port))) {
        if (Date.now() > deadline) throw new Error("the cluster did not reach cluster_state:ok in 20 s");
        await new Promise((r) => setTimeout(r, 100));
      }
      return { ports: nodes.map((n) => n.port), stop: async () => void await Promise.all(nodes.map((n) => n.stop())) };
    } catch (error) {
      await Promise.all(nodes.map((n) => n.stop()));
      if (attempt === 3) throw error;
    }
  }
}

function clusterOk(port: number): boolean {
  const info = spawnSync("redis-cli", ["-p", String(port), "cluster", "info"], { encoding: "utf8" });
  return /cluster_state:ok/.test(info.stdout);
}

class PortTaken extends Error {}

async function startOn(port: number, args: readonly string[]): Promise<() => Promise<void>> {
  const child = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", ...args], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  await new Promise<void>((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`redis-server did not start:\n${out}`));
    }, 10_000);
    child.once(
      "error",
      (error) => reject(new Error(`redis-server is not installed (apt-get install redis-server): ${error.message}`)),
    );
    child.once("exit", () => {
      clearTimeout(timer);
      reject(/Address already in use/i.test(out) ? new PortTaken(out) : new Error(`redis-server exited:\n${out}`));
    });
    const onData = (d: Buffer) => {
      out += d;
      if (out.includes("Ready to accept connections")) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
  });
  return () =>
    new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once("exit", () => resolve());
      child.kill("SIGTERM");
    });
}

/** Scripts the server at `port` has run (each one round trip of ours), from `INFO commandstats`. */
export async function scriptCalls(port: number): Promise<number> {
  const client = await RespClient.connect(port);
  try {
    const [info] = await client.send([["INFO", "commandstats"]]);
    let calls = 0;
    for (const m of String(info).matchAll(/^cmdstat_(?:evalsha|eval):calls=(\d+)/gm)) calls += Number(m[1]);
    return calls;
  } finally {
    client.close();
  }
}

/**
 * Deletes the keys matching `pattern` (in database `db`) on the server at `port`: one key kind lost,
 * or a whole prefix, as an eviction, an operator's DEL or a FLUSHDB would lose them.
 */
export async function deleteKeys(port: number, pattern: string, db = 0): Promise<number> {
  const client = await RespClient.connect(port);
  try {
    const [, keys] = await client.send([["SELECT", db], ["KEYS", pattern]]);
    if (!Array.isArray(keys) || keys.length === 0) return 0;
    await client.send([["DEL", ...keys.map(String)]]);
    return keys.length;
  } finally {
    client.close();
  }
}
