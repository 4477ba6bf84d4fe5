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
import type { Exporter, ExporterOptions } from "../../core/exporter/api.ts";
import { createExporterFor } from "../factory.ts";
import { flushPeers } from "../../core/exporter/peer_flush.ts";
import { shutDown } from "../../core/exporter/shutdown.ts";
import { resolveMultiprocDir } from "../../storage/choose.ts";
import { FilesystemStorage } from "../../storage/filesystem/storage.ts";
import { denoGlobal } from "./deno.ts";
import { denoRuntime } from "./runtime.ts";

type Message =
  | { type: "hello" | "hello-ack"; from: string }
  | { type: "flush"; from: string; round: number }
  | { type: "flushed"; from: string; to: string; round: number }
  | { type: "exited"; from: string };

/** How long a scrape waits, overall, for the peers to publish first, in ms. */
const FLUSH_DEADLINE_MS = 250;

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

/**
 * Creates the exporter of one `deno serve --parallel` isolate and wires it to its peers. Like every
 * `createExporter`, synchronous; the isolate's start (`postFork`, `whenReady`: publishing and the
 * metrics server, taken over by a peer when another isolate holds it) begins at once, and
 * `await exporter.whenReady()` waits for it.
 * The directory is `multiprocDir`, else `PROMETHEUS_MULTIPROC_DIR`, else one per Deno process
 * under the temporary directory.
 *
 * @example
 * ```ts
 * import { Hono } from "hono";
 * import { prometheus } from "hono-prometheus-exporter";
 * import { createParallelExporter } from "hono-prometheus-exporter/deno";
 * const exporter = createParallelExporter();
 * const app = new Hono();
 * app.use(prometheus({ exporter }));
 * export default { fetch: app.fetch };
 * ```
 */
export function createParallelExporter(options: ExporterOptions = {}): Exporter {
  const deno = denoGlobal();
  const runtime = denoRuntime();
  const directory = resolveMultiprocDir(options, runtime.env) ?? join(tmpdir(), `hono-prometheus-${deno.pid}`);
  mkdirSync(directory, { recursive: true, mode: 0o700 });
  const claimed = options.workerId === undefined ? claimSlot(directory, deno.pid) : undefined;
  const slot = options.workerId ?? claimed!.slot;
  const channel = new BroadcastChannel(`hono-prometheus:${directory}`);
  const peers = new Set<string>();
  /** Per flush round, the peers it waits for. */
  const waiting = new Map<number, Map<string, () => void>>();
  let round = 0;

  const askPeers = (): Promise<void> => {
    const mine = ++round;
    const answers = new Map<string, () => void>();
    waiting.set(mine, answers);
    if (peers.size > 0) channel.postMessage({ type: "flush", from: me, round: mine } satisfies Message);
    return flushPeers(
      peers,
      (peer, done) =>
        new Promise<void>((resolve) => {
          answers.set(peer, resolve);
          done.addEventListener("abort", () => waiting.delete(mine));
        }),
      FLUSH_DEADLINE_MS,
    );
  };

  const exporter = createExporterFor(runtime, {
    ...options,
    storage: options.storage ?? new FilesystemStorage({ directory }),
    workerId: slot,
    handleSignals: false,
    beforeCollect: askPeers,
    serverRetry: { attempts: 1, standbyMs: 2000, ...options.serverRetry },
  });
  const me = exporter.identity.base;

  channel.onmessage = (event: MessageEvent<Message>) => {
    const message = event.data;
    if (message.from === me) return;
    if (message.type === "hello" || message.type === "hello-ack") {
      peers.add(message.from);
      if (message.type === "hello") channel.postMessage({ type: "hello-ack", from: me } satisfies Message);
    } else if (message.type === "flush") {
      exporter.flush().catch(() => {}).finally(() =>
        channel.postMessage({ type: "flushed", from: me, to: message.from, round: message.round } satisfies Message)
      );
    } else if (message.type === "flushed" && message.to === me) {
      waiting.get(message.round)?.get(message.from)?.();
    } else if (message.type === "exited") {
      peers.delete(message.from);
      for (const answers of waiting.values()) answers.get(message.from)?.();
    }
  };
  channel.postMessage({ type: "hello", from: me } satisfies Message);

  const shutdown = (signal: string) =>
    shutDown(exporter, signal, {
      after: async () => {
        claimed?.release();
        channel.postMessage({ type: "exited", from: me } satisfies Message);
        // Deno.exit from any isolate ends them all: wait until every peer has published its last values.
        const deadline = Date.now() + 2000;
        while (peers.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      },
      exit: (code) => deno.exit(code),
    });
  for (const signal of ["SIGINT", "SIGTERM"]) deno.addSignalListener(signal, () => void shutdown(signal));

  exporter.postFork(slot).then(() => exporter.whenReady()).catch((error) =>
    exporter.logger.error(`the isolate's exporter did not start: ${String(error)}`)
  );
  return exporter;
}
