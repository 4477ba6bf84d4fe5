/**
 * `hono-prometheus-exporter/redis`: Redis over TCP (Redis, Valkey, a managed Redis without a REST
 * gateway; one server or a Redis Cluster), for Node, Bun and Deno, with the same scripts and costs
 * as Upstash. Needs the optional peer dependency `@redis/client`.
 *
 * @example
 * ```ts
 * import { RedisStorage } from "hono-prometheus-exporter/redis";
 * const storage = new RedisStorage({ url: "redis://127.0.0.1:6379/2" });
 * await storage.close();
 * ```
 * @module
 */
export { RedisStorage } from "./redis/tcp_storage.ts";
export type { KeyOptions, RedisStorageOptions } from "./redis/tcp_storage.ts";
