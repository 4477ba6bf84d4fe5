/**
 * `hono-prometheus-exporter/upstash`: the Upstash REST Redis backend, for many hosts and edge
 * isolates sharing one database. One REST request per publish, one per scrape (two with a
 * retirement), through a small REST client of its own or a client of yours from `@upstash/redis`.
 *
 * @example
 * ```ts
 * import { createExporter } from "hono-prometheus-exporter";
 * import { UpstashStorage } from "hono-prometheus-exporter/upstash";
 * const exporter = createExporter({
 *   storage: new UpstashStorage({ url: "https://example.upstash.io", token: "a-token" }),
 * });
 * ```
 * @module
 */
export { UpstashStorage } from "./redis/upstash_storage.ts";
export type { KeyOptions, UpstashClient, UpstashStorageOptions } from "./redis/upstash_storage.ts";
