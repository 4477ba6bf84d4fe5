/**
 * (b) HTTP throughput of the bench app with autocannon, per runtime: bare Hono, a no-op
 * middleware, this middleware, @hono/prometheus. Variants rotate within each round so that
 * machine noise spreads over all of them; the median of the rounds is reported.
 */
import { spawn, spawnSync } from "node:child_process";
import process from "node:process";
import autocannon from "autocannon";
import { median } from "./stats.ts";

import { type Variant, VARIANTS } from "./variants.ts";

const COMMANDS: Record<string, [string, string[]]> = {
  node: [process.execPath, ["--import", "tsx", "bench/http_app.ts"]],
  bun: ["node_modules/.bin/bun", ["bench/http_app.ts"]],
  deno: ["node_modules/.bin/deno", ["run", "-A", "bench/http_app.ts"]],
};

// The server gets core 0 and this process (autocannon) core 1, where taskset exists: two
// processes fighting over two cores would measure the scheduler, not the middleware.
const pinned = spawnSync("taskset", ["-c", "1", "true"]).status === 0;
if (pinned) spawnSync("taskset", ["-cp", "1", String(process.pid)]);

async function startApp(runtime: string, variant: Variant) {
  const [bin, binArgs] = COMMANDS[runtime];
  const [command, args] = pinned ? ["taskset", ["-c", "0", bin, ...binArgs]] : [bin, binArgs];
  const child = spawn(command, args, {
    env: { ...process.env, BENCH_VARIANT: variant, PORT: "0" },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const port = await new Promise<number>((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /ready (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.once("exit", (code) => reject(new Error(`${runtime} ${variant} exited with ${code}`)));
  });
  return { port, stop: () => new Promise<void>((r) => (child.once("exit", () => r()), child.kill("SIGKILL"))) };
}

function load(port: number, seconds: number): Promise<number> {
  return new Promise((resolve, reject) => {
    autocannon({ url: `http://127.0.0.1:${port}/users/42`, connections: 32, duration: seconds }, (err, result) => {
      if (err) reject(err);
      else if (result.non2xx > 0 || result.errors > 0) {
        reject(new Error(`${result.non2xx} non-2xx, ${result.errors} errors`));
      } else resolve(result.requests.average);
    });
  });
}

/** Median throughput per variant, and the median over rounds of each variant's ratio to `noop` and `hono-prometheus` in the same round. */
export interface HttpResult {
  readonly rps: Record<Variant, number>;
  readonly vsNoop: number;
  readonly vsHonoPrometheus: number;
  readonly pinned: boolean;
}

export async function benchHttp(runtime: string, rounds = 5, seconds = 2): Promise<HttpResult> {
  const samples = Object.fromEntries(VARIANTS.map((v) => [v, [] as number[]])) as Record<Variant, number[]>;
  for (let round = 0; round < rounds; round++) {
    const order = VARIANTS.map((_, i) => VARIANTS[(i + round) % VARIANTS.length]);
    for (const variant of order) {
      const app = await startApp(runtime, variant);
      try {
        await load(app.port, 1); // warm-up: JIT and connection pool
        samples[variant].push(await load(app.port, seconds));
      } finally {
        await app.stop();
      }
    }
  }
  const ratios = (other: Variant) => median(samples.exporter.map((x, i) => x / samples[other][i]));
  return {
    rps: Object.fromEntries(VARIANTS.map((v) => [v, median(samples[v])])) as Record<Variant, number>,
    vsNoop: ratios("noop"),
    vsHonoPrometheus: ratios("hono-prometheus"),
    pinned,
  };
}
