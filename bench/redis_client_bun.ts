/**
 * Run by bench/redis.ts under Bun: the round-trip time of one EVALSHA (the read script's shape on
 * a small state) through @redis/client and through Bun's built-in RedisClient, on the same server.
 * Prints one JSON line: median microseconds for each.
 */
import { createClient } from "@redis/client";
import { median } from "./stats.ts";

const url = process.argv[2];
const script = "return {redis.call('HGETALL', KEYS[1]), redis.call('GET', KEYS[2]) or '0'}";
const rounds = 2000;

const node = createClient({ url });
await node.connect();
await node.sendCommand(["HSET", "{bench}:h", "a", "1", "b", "2"]);
const sha = String(await node.sendCommand(["SCRIPT", "LOAD", script]));
const timed = async (run: () => Promise<unknown>) => {
  for (let i = 0; i < 200; i++) await run(); // warm up
  const samples: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const t = performance.now();
    await run();
    samples.push((performance.now() - t) * 1000);
  }
  return median(samples);
};
const nodeRedisUs = await timed(() => node.sendCommand(["EVALSHA", sha, "2", "{bench}:h", "{bench}:v"]));
node.destroy();

const { RedisClient } = (globalThis as unknown as { Bun: unknown }).Bun as {
  RedisClient: new (url: string) => { send(command: string, args: string[]): Promise<unknown>; close(): void };
};
const bun = new RedisClient(url);
const bunUs = await timed(() => bun.send("EVALSHA", [sha, "2", "{bench}:h", "{bench}:v"]));
bun.close();
console.log(JSON.stringify({ nodeRedisUs, bunUs }));
