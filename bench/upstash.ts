/**
 * Issue 4's benchmark, against a real redis-server behind the tests' REST gateway:
 * REST requests and bytes per 10 000 (and 100 000) app requests with 1 and 8 processes, one
 * publish per process; and scrape latency and REST requests per scrape as processes grow to 64.
 */
import { Hono } from "hono";
import { createExporter, type Exporter, prometheus, Registry } from "../mod.ts";
import { UpstashStorage } from "../src/storage/upstash.ts";
import { startRedis } from "../tests/support/redis.ts";
import { type Gateway, startGateway } from "../tests/support/upstash_gateway.ts";
import { median } from "./stats.ts";

export interface UpstashCost {
  readonly processes: number;
  readonly appRequests: number;
  readonly restRequests: number;
  readonly bytes: number;
}
export interface UpstashScrape {
  readonly processes: number;
  readonly ms: number;
  readonly restRequests: number;
}

const total = (g: Gateway) => [...g.requests.values()].reduce((a, b) => a + b, 0);

function instance(gateway: Gateway, prefix: string): { exporter: Exporter; app: Hono } {
  const exporter = createExporter({
    registry: new Registry(),
    storage: new UpstashStorage({ url: gateway.url, token: gateway.token, keyPrefix: prefix }),
    metricsServer: false,
  });
  const app = new Hono();
  app.use(prometheus({ exporter }));
  app.get("/users/:id", (c) => c.json({ id: c.req.param("id") }));
  app.get("/items/:id", (c) => c.json({ id: c.req.param("id") }));
  return { exporter, app };
}

export async function benchUpstash(): Promise<{ costs: UpstashCost[]; scrapes: UpstashScrape[] }> {
  const redis = await startRedis();
  const gateway = await startGateway(redis.port);
  try {
    const costs: UpstashCost[] = [];
    for (const processes of [1, 8]) {
      for (const appRequests of [10_000, 100_000]) {
        const prefix = `cost-${processes}-${appRequests}`;
        const instances = Array.from({ length: processes }, () => instance(gateway, prefix));
        for (const i of instances) await i.exporter.flush(); // start-up publish (descriptors), not counted
        const [requestsBefore, bytesBefore] = [total(gateway), gateway.bytesIn];
        for (let r = 0; r < appRequests; r++) {
          await instances[r % processes].app.request(`/${r % 3 ? "users" : "items"}/${r}`);
        }
        for (const i of instances) await i.exporter.flush(); // one publish per process
        costs.push({
          processes,
          appRequests,
          restRequests: total(gateway) - requestsBefore,
          bytes: gateway.bytesIn - bytesBefore,
        });
      }
    }
    const scrapes: UpstashScrape[] = [];
    for (const processes of [1, 8, 64]) {
      const prefix = `scrape-${processes}`;
      const instances = Array.from({ length: processes }, () => instance(gateway, prefix));
      for (const [n, i] of instances.entries()) {
        for (let r = 0; r < 50; r++) await i.app.request(`/users/${n}-${r}`);
        await i.exporter.flush();
      }
      const scraper = instances[0].exporter;
      const times: number[] = [];
      let perScrape = 0;
      for (let round = 0; round < 7; round++) {
        const before = total(gateway);
        const t = performance.now();
        await scraper.collect();
        times.push(performance.now() - t);
        perScrape = total(gateway) - before;
      }
      scrapes.push({ processes, ms: median(times.slice(1)), restRequests: perScrape });
    }
    return { costs, scrapes };
  } finally {
    await gateway.stop();
    await redis.stop();
  }
}
