/**
 * (b) HTTP throughput of the bench app per runtime, with a native load generator: wrk (Debian's),
 * `-t1 -c32` on `GET /users/:id`, pinned to core 1 while the server has core 0. Every variant
 * (see VARIANTS: bare Hono, a no-op middleware, a clock-only one, this middleware, the app wrapper,
 * @hono/prometheus) runs in every round, in an order that rotates from round to round, so that
 * machine noise falls on all of them; ratios are
 * taken within each round, and their median and spread over the rounds are reported. Without wrk
 * it falls back to autocannon, whose own cost bounds what it can measure (said in the result).
 *
 * Then the same comparisons side by side: the two servers of a pair run at the same time, both on
 * core 0, each loaded by its own wrk on core 1, so that whatever slows the machine slows both at
 * once; the ratio of their throughputs is the ratio of their costs per request. On this shared
 * machine a round of sequential runs moves by up to 10 %, a side-by-side round of two identical
 * servers by a few percent (the `noop/noop` control pair shows it in every run).
 */
import { execFile, spawn, spawnSync } from "node:child_process";
import process from "node:process";
import autocannon from "autocannon";
import { median } from "./stats.ts";
import { type Variant, VARIANTS } from "./variants.ts";

const COMMANDS: Record<string, [string, string[]]> = {
  node: [process.execPath, ["--import", "tsx", "bench/http_app.ts"]],
  bun: ["node_modules/.bin/bun", ["bench/http_app.ts"]],
  deno: ["node_modules/.bin/deno", ["run", "-A", "bench/http_app.ts"]],
};

/** Where taskset exists, the server gets core 0 and the load generator core 1. */
const pinned = spawnSync("taskset", ["-c", "1", "true"]).status === 0;
const hasWrk = spawnSync("wrk", ["--version"]).error === undefined;

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

/** Requests per second over `seconds`; rejects on any non-2xx answer or socket error. */
function load(port: number, seconds: number): Promise<number> {
  const url = `http://127.0.0.1:${port}/users/42`;
  if (!hasWrk) {
    return new Promise((resolve, reject) => {
      autocannon({ url, connections: 32, duration: seconds }, (err, result) => {
        if (err) reject(err);
        else if (result.non2xx > 0 || result.errors > 0) {
          reject(new Error(`${result.non2xx} non-2xx, ${result.errors} errors`));
        } else resolve(result.requests.average);
      });
    });
  }
  const wrk = ["wrk", "-t1", "-c32", `-d${seconds}s`, url];
  const [command, args] = pinned ? ["taskset", ["-c", "1", ...wrk]] : [wrk[0], wrk.slice(1)];
  return new Promise((resolve, reject) => {
    execFile(command, args, { encoding: "utf8" }, (error, stdout) => {
      if (error) return reject(error);
      const failures = /Non-2xx or 3xx responses: (\d+)|Socket errors: (.*)/.exec(stdout);
      if (failures) return reject(new Error(`wrk: ${failures[0]}`));
      const rps = /Requests\/sec:\s+([\d.]+)/.exec(stdout);
      if (!rps) return reject(new Error(`wrk printed no rate:\n${stdout}`));
      resolve(Number(rps[1]));
    });
  });
}

/** The pairs compared side by side: candidate over baseline; `noop/noop` is the control. */
export const PAIRS = [
  ["exporter", "noop"],
  ["instrument", "bare"],
  ["exporter", "hono-prometheus"],
  ["clock", "noop"],
  ["noop", "noop"],
] as const satisfies ReadonlyArray<readonly [Variant, Variant]>;

/** Requests per second of two servers loaded at the same time, each by its own wrk. */
async function loadSideBySide(ports: [number, number], seconds: number): Promise<[number, number]> {
  const [a, b] = await Promise.all(ports.map((port) => load(port, seconds)));
  return [a, b];
}

/** A ratio's median over the rounds, and its lowest and highest round. */
export interface Spread {
  readonly median: number;
  readonly min: number;
  readonly max: number;
}

/** Throughput per variant (median of rounds), and each variant's ratios within the rounds. */
export interface HttpResult {
  readonly runtime: string;
  readonly generator: "wrk" | "autocannon (generator-bound: its own cost limits the figures)";
  readonly pinned: boolean;
  readonly rounds: number;
  readonly seconds: number;
  readonly rps: Record<Variant, number>;
  /** `ratios[a][b]`: requests per second of variant `a` over variant `b`, in the same round. */
  readonly ratios: Record<Variant, Record<Variant, Spread>>;
  /** Side by side (wrk only): `paired["exporter/noop"]`, candidate over baseline, per round. */
  readonly paired: Record<string, Spread>;
}

export async function benchHttp(runtime: string, rounds = 5, seconds = 3): Promise<HttpResult> {
  const samples = Object.fromEntries(VARIANTS.map((v) => [v, [] as number[]])) as Record<Variant, number[]>;
  for (let round = 0; round < rounds; round++) {
    const order = VARIANTS.map((_, i) => VARIANTS[(i + round) % VARIANTS.length]);
    for (const variant of order) {
      const app = await startApp(runtime, variant);
      try {
        await load(app.port, 1); // warm-up: JIT, connections
        samples[variant].push(await load(app.port, seconds));
      } finally {
        await app.stop();
      }
    }
  }
  const paired: Record<string, number[]> = {};
  for (let round = 0; hasWrk && round < rounds; round++) {
    for (const [candidate, baseline] of PAIRS) {
      // Which of the two starts and is loaded first alternates from round to round.
      const swap = round % 2 === 1;
      const apps = await Promise.all(
        swap
          ? [startApp(runtime, baseline), startApp(runtime, candidate)]
          : [startApp(runtime, candidate), startApp(runtime, baseline)],
      );
      try {
        const ports: [number, number] = [apps[0].port, apps[1].port];
        await loadSideBySide(ports, 1); // warm-up
        const [first, second] = await loadSideBySide(ports, seconds);
        const [c, b] = swap ? [second, first] : [first, second];
        (paired[`${candidate}/${baseline}`] ??= []).push(c / b);
      } finally {
        await Promise.all(apps.map((app) => app.stop()));
      }
    }
  }
  const spread = (values: number[]): Spread => ({
    median: median(values),
    min: Math.min(...values),
    max: Math.max(...values),
  });
  const ratios = Object.fromEntries(VARIANTS.map((a) => [
    a,
    Object.fromEntries(VARIANTS.map((b) => [b, spread(samples[a].map((x, i) => x / samples[b][i]))])),
  ])) as Record<Variant, Record<Variant, Spread>>;
  return {
    runtime,
    generator: hasWrk ? "wrk" : "autocannon (generator-bound: its own cost limits the figures)",
    pinned,
    rounds,
    seconds,
    rps: Object.fromEntries(VARIANTS.map((v) => [v, median(samples[v])])) as Record<Variant, number>,
    ratios,
    paired: Object.fromEntries(Object.entries(paired).map(([pair, values]) => [pair, spread(values)])),
  };
}
