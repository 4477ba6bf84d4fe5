/**
 * Remote write from Workers: a Worker that nothing scrapes pushes its aggregate from a Cron
 * Trigger. The handler reads every isolate's values from storage (the Durable Object or Upstash),
 * as a scrape would, and pushes them to `PROMETHEUS_REMOTE_WRITE_URL` (bearer or basic auth from
 * `PROMETHEUS_REMOTE_WRITE_TOKEN`, `_USERNAME`, `_PASSWORD`), within the event's `waitUntil`.
 * @module
 */
import type { Exporter } from "../../core/api/types.ts";
import { internals } from "../../core/exporter/exporter.ts";
import { RemoteWriter, resolveRemoteWrite } from "../../core/push/remote_write.ts";

/** What workerd hands a `scheduled` handler that this one uses. */
export interface ScheduledContext {
  /** Keeps the isolate alive until the promise settles. */
  waitUntil(promise: Promise<unknown>): void;
}

/**
 * The `scheduled` handler of a Worker: each Cron Trigger pushes the aggregate with remote write.
 *
 * @example
 * ```ts
 * import { Hono } from "hono";
 * import { metricsHandler, prometheus } from "hono-prometheus-exporter";
 * import { createExporter, pushOnSchedule } from "hono-prometheus-exporter/workers";
 *
 * const exporter = createExporter();
 * const app = new Hono();
 * app.use(prometheus({ exporter }));
 * app.get("/metrics", metricsHandler(exporter));
 * export default { fetch: app.fetch, scheduled: pushOnSchedule(exporter) };
 * ```
 */
export function pushOnSchedule(
  exporter: Exporter,
): (controller: unknown, env: unknown, ctx: ScheduledContext) => void {
  const process = internals(exporter, "pushOnSchedule(exporter)");
  let writer: RemoteWriter | undefined;
  let unset = false;
  return (_controller, env, ctx) => {
    process.bind(env);
    if (writer === undefined) {
      const settings = resolveRemoteWrite(undefined, process.runtime.env);
      if (settings === undefined) {
        if (!unset) {
          unset = true;
          process.logger.error(
            "a Cron Trigger ran pushOnSchedule, but PROMETHEUS_REMOTE_WRITE_URL is not bound: nothing is pushed",
          );
        }
        return;
      }
      writer = new RemoteWriter(
        settings,
        () => process.collect(),
        process.logger,
        process.registry,
        process.config.namespace,
      );
    }
    ctx.waitUntil(writer.push());
  };
}
