/**
 * Runs the Upstash example against a local Redis: starts `redis-server` (Debian's package) and
 * the project's Upstash REST gateway in front of it, then prints the environment to use.
 * Run: `npx tsx examples/upstash/local.ts`, then, in other terminals, the printed commands.
 * (The gateway is the one the tests use; for production use Upstash itself.)
 */
import { startRedis } from "../../tests/support/redis.ts";
import { startGateway } from "../../tests/support/upstash_gateway.ts";

const redis = await startRedis();
const gateway = await startGateway(redis.port, "local-token");
const env = `UPSTASH_REDIS_REST_URL=${gateway.url} UPSTASH_REDIS_REST_TOKEN=local-token`;
console.log(`redis-server on 127.0.0.1:${redis.port}, Upstash REST gateway on ${gateway.url}
Start two instances:
  ${env} PORT=8000 PROMETHEUS_METRICS_PORT=9091 npx tsx examples/upstash/app.ts
  ${env} PORT=8001 PROMETHEUS_METRICS_PORT=9092 npx tsx examples/upstash/app.ts
Ctrl-C stops the gateway and Redis.`);
const stop = async () => {
  await gateway.stop();
  await redis.stop();
  (globalThis as { process?: { exit(code: number): void } }).process?.exit(0);
};
const proc = (globalThis as { process?: { on(signal: string, f: () => void): void } }).process;
proc?.on("SIGINT", () => void stop());
proc?.on("SIGTERM", () => void stop());
