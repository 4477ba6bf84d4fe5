/**
 * `deno serve --parallel`: the app module runs in several isolates of one process, with no
 * supervisor. Each isolate claims a slot (`worker_1`...) as a file in the shared directory, publishes
 * to the filesystem backend, and talks to its peers over a BroadcastChannel:
 * - the isolate that holds the metrics server asks the others to publish before each scrape;
 * - the others stand by and take the metrics server over if its holder goes away;
 * - on SIGINT/SIGTERM every isolate publishes its last values, then waits for its peers, because
 *   `Deno.exit` in one isolate ends them all.
 * What Deno cannot give: an isolate cannot be restarted or killed alone, so there is no restart
 * counter; memory and CPU gauges are the whole process's, reported by each slot.
 * @module
 */
import { closeSync, mkdirSync, openSync, rmdirSync, unlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Exporter, HookContext } from "../../core/api/types.ts";
import type { ProcessExporter } from "../../core/exporter/exporter.ts";
import { createExporterFor } from "../entry/factory.ts";
import { flushPeers } from "../../core/exporter/peer_flush.ts";
import { shutDown } from "../../core/exporter/shutdown.ts";
import { checkOptions, without } from "../../core/config/options.ts";
import { chooseStorage, refuseTwoBackends } from "../../storage/drivers.ts";
import { HOST_PLACE } from "../../storage/host_place.ts";
import { resolveMultiprocDir } from "../../storage/filesystem/driver.ts";
import { HOST_ENTRY_OPTIONS, hostEnv, type HostExporterOptions, remoteWriteOf } from "../entry/host_exporter.ts";
import { denoGlobal, type DenoNamespace } from "./deno.ts";
import { denoRuntime } from "./runtime.ts";

/** Options of {@link createParallelExporter}: those of the host entries but `handleSignals` (the isolates handle them together). */
export interface ParallelExporterOptions extends Omit<HostExporterOptions, "handleSignals"> {}

type Message =
  | { type: "hello" | "hello-ack"; from: string }
  | { type: "flush"; from: string; round: number }
  | { type: "flushed"; from: string; to: string; round: number }
  | { type: "exited"; from: string };

/** How long a scrape waits, overall, for the peers to publish first, in ms. */
const FLUSH_DEADLINE_MS = 250;

const PARALLEL_OPTIONS = HOST_ENTRY_OPTIONS.map((group) => without(group, "handleSignals"));

/** Claims the first free slot of this process, as `worker_<n>`; `release` gives it back. */
function claimSlot(directory: string, pid: number): { slot: string; release: () => void } {
  const slots = join(directory, "slots");
  mkdirSync(slots, { recursive: true, mode: 0o700 });
  for (let n = 1; n <= 4096; n++) {
    const path = join(slots, `${pid}-${n}`);
    try {
      closeSync(openSync(path, "wx", 0o600));
      const release = () => {
        try {
          unlinkSync(path);
          rmdirSync(slots); // the last isolate out removes the folder
        } catch { /* a peer still holds a slot */ }
      };
      return { slot: `worker_${n}`, release };
    } catch (error) {
      if ((error as { code?: string }).code !== "EEXIST") throw error;
    }
  }
  throw new Error(`no free worker slot in ${slots}`);
}

/** One isolate's peers: who they are, the flush rounds before a scrape, and the shutdown together. */
class Peers {
  readonly #peers = new Set<string>();
  /** Per flush round, the peers it waits for. */
  readonly #waiting = new Map<number, Map<string, () => void>>();
  #round = 0;
  #channel: BroadcastChannel | undefined;
  #me = "";

  constructor(readonly directory: string, readonly deno: DenoNamespace) {}

  /** Asks every peer to publish, and waits for them up to the deadline (before a scrape). */
  flush(): Promise<void> {
    const round = ++this.#round;
    const answers = new Map<string, () => void>();
    this.#waiting.set(round, answers);
    if (this.#peers.size === 0) {
      this.#waiting.delete(round);
      return Promise.resolve();
    }
    this.#send({ type: "flush", from: this.#me, round });
    return flushPeers(
      this.#peers,
      (peer, done) =>
        new Promise<void>((resolve) => {
          answers.set(peer, resolve);
          done.addEventListener("abort", () => this.#waiting.delete(round));
        }),
      FLUSH_DEADLINE_MS,
    );
  }

  /** Joins the peers (the slot, the channel, the signals); returns the slot. Run by `whenReady`. */
  join(exporter: ProcessExporter, workerId: string | undefined): string {
    const claimed = workerId === undefined ? claimSlot(this.directory, this.deno.pid) : undefined;
    this.#me = exporter.identity.base;
    const channel = this.#channel = new BroadcastChannel(`hono-prometheus:${this.directory}`);
    channel.onmessage = (event: MessageEvent<Message>) => this.#receive(exporter, event.data);
    this.#send({ type: "hello", from: this.#me });
    const shutdown = (signal: string) =>
      shutDown(exporter, signal, {
        after: async () => {
          claimed?.release();
          this.#send({ type: "exited", from: this.#me });
          // Deno.exit from any isolate ends them all: wait until every peer has published its last values.
          const deadline = Date.now() + 2000;
          while (this.#peers.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
        },
        exit: (code) => this.deno.exit(code),
      });
    for (const signal of ["SIGINT", "SIGTERM"]) this.deno.addSignalListener(signal, () => void shutdown(signal));
    return workerId ?? claimed!.slot;
  }

  #send(message: Message): void {
    this.#channel?.postMessage(message);
  }

  #receive(exporter: Exporter, message: Message): void {
    if (message.from === this.#me) return;
    if (message.type === "hello" || message.type === "hello-ack") {
      this.#peers.add(message.from);
      if (message.type === "hello") this.#send({ type: "hello-ack", from: this.#me });
    } else if (message.type === "flush") {
      exporter.flush().catch(() => {}).finally(() =>
        this.#send({ type: "flushed", from: this.#me, to: message.from, round: message.round })
      );
    } else if (message.type === "flushed" && message.to === this.#me) {
      this.#waiting.get(message.round)?.get(message.from)?.();
    } else if (message.type === "exited") {
      this.#peers.delete(message.from);
      for (const answers of this.#waiting.values()) answers.get(message.from)?.();
    }
  }
}

/**
 * Creates the exporter of one `deno serve --parallel` isolate. Like every `createExporter`,
 * synchronous and without side effects: `whenReady` claims the isolate's slot (its `worker_id`),
 * joins its peers, starts publishing and the metrics server (taken over by a peer when another
 * isolate holds it). The directory is `multiprocDir`, else `PROMETHEUS_MULTIPROC_DIR`, else one per
 * Deno process under the temporary directory.
 *
 * @example
 * ```ts
 * import { Hono } from "hono";
 * import { prometheus } from "hono-prometheus-exporter";
 * import { createParallelExporter } from "hono-prometheus-exporter/deno";
 * const exporter = createParallelExporter();
 * const app = new Hono();
 * app.use(prometheus({ exporter }));
 * await exporter.whenReady();
 * export default { fetch: app.fetch };
 * ```
 */
export function createParallelExporter(options: ParallelExporterOptions = {}): Exporter {
  checkOptions(options, "createParallelExporter", PARALLEL_OPTIONS, {
    handleSignals: "the isolates of deno serve --parallel handle SIGINT and SIGTERM together",
  });
  refuseTwoBackends(options);
  const deno = denoGlobal();
  const runtime = denoRuntime();
  const env = hostEnv(runtime.env, options); // the configuration file too
  const directory = resolveMultiprocDir(options, env) ?? join(tmpdir(), `hono-prometheus-${deno.pid}`);
  const peers = new Peers(directory, deno);
  const whenReady = options.hooks?.whenReady;
  const exporter: ProcessExporter = createExporterFor({ ...runtime, env }, {
    ...options,
    // The one rule; with nothing chosen, this process's directory.
    storage: options.storage ?? chooseStorage(env, options, HOST_PLACE) ??
      chooseStorage(env, { multiprocDir: directory }, HOST_PLACE),
    handleSignals: false,
    push: remoteWriteOf(options, env),
    beforeCollect: () => peers.flush(),
    serverRetry: { attempts: 1, standbyMs: 2000, ...options.serverRetry },
    hooks: {
      ...options.hooks,
      whenReady: async (context: HookContext) => {
        await exporter.postFork(peers.join(exporter, options.workerId));
        await (whenReady ?? ((c: HookContext) => c.runDefault()))(context);
      },
    },
  });
  return exporter;
}
