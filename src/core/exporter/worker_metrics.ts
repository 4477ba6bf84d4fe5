/**
 * Worker gauges, sampled on a timer by the worker itself: memory, CPU percent since the previous
 * sample (100 = one core), uptime and state. A gauge the runtime cannot read is never set, so it is
 * absent from the output rather than a misleading zero. They merge as `livemostrecent`: one value
 * per `worker_id`, from live processes only.
 * @module
 */
import type { Registry } from "../values/metrics.ts";
import { declareOnce, Gauge } from "../values/metrics.ts";
import type { ProcessProbe } from "../runtime.ts";

/** The states of a worker. */
export type WorkerState = "starting" | "running" | "quitting" | "aborting";

const STATES: readonly WorkerState[] = ["starting", "running", "quitting", "aborting"];

/** The worker gauges of one process. */
export class WorkerMetrics {
  readonly #memory: Gauge<"worker_id">;
  readonly #cpu: Gauge<"worker_id">;
  readonly #uptime: Gauge<"worker_id">;
  readonly #state: Gauge<"worker_id" | "state">;
  #lastCpu: { micros: number; at: number } | undefined;

  /**
   * Declares the worker gauges.
   * @param registry Where the gauges are registered.
   * @param namespace Metric name prefix.
   * @param workerId This worker's `worker_id`.
   * @param probe Reads memory, CPU and uptime; absent on runtimes that cannot.
   */
  constructor(registry: Registry, namespace: string, public workerId: string, readonly probe?: ProcessProbe) {
    const make = <T extends string>(name: string, help: string, labelNames: T[]) => {
      const config = {
        name: `${namespace}_${name}`,
        help,
        labelNames,
        registers: [registry],
        multiprocessMode: "livemostrecent" as const,
      };
      return declareOnce(registry, Gauge<T>, config, () => new Gauge<T>(config));
    };
    this.#memory = make("worker_memory_bytes", "Resident memory of the worker process, in bytes.", ["worker_id"]);
    this.#cpu = make(
      "worker_cpu_percent",
      "CPU used by the worker since the previous sample, in percent of one core.",
      ["worker_id"],
    );
    this.#uptime = make("worker_uptime_seconds", "Seconds since the worker process started.", ["worker_id"]);
    this.#state = make("worker_state", "1 for the worker's current state, 0 for the others.", ["worker_id", "state"]);
  }

  /** Reads the probe and sets the gauges it can fill. */
  sample(now: number = performance.now()): void {
    let reading;
    try {
      reading = this.probe?.sample();
    } catch {
      return; // a reading the runtime refuses (a missing permission) leaves the gauges absent
    }
    if (reading === undefined) return;
    const labels = { worker_id: this.workerId };
    if (reading.rssBytes !== undefined) this.#memory.set(labels, reading.rssBytes);
    if (reading.uptimeSeconds !== undefined) this.#uptime.set(labels, reading.uptimeSeconds);
    if (reading.cpuMicros !== undefined) {
      const last = this.#lastCpu;
      this.#lastCpu = { micros: reading.cpuMicros, at: now };
      // The first sample covers the time since the process started.
      const percent = last !== undefined && now > last.at
        ? ((reading.cpuMicros - last.micros) / 1000 / (now - last.at)) * 100
        : last === undefined && reading.uptimeSeconds
        ? (reading.cpuMicros / 1e6 / reading.uptimeSeconds) * 100
        : undefined;
      if (percent !== undefined) this.#cpu.set(labels, Math.max(0, Math.round(percent * 100) / 100));
    }
  }

  /** Moves the state gauge to `state`. */
  setState(state: WorkerState): void {
    for (const s of STATES) this.#state.set({ worker_id: this.workerId, state: s }, s === state ? 1 : 0);
  }
}
