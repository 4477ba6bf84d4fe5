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
import { mkdir, open, rmdir, unlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Exporter } from "../../core/exporter/exporter.ts";
import { createExporterFor, type CreateExporterOptions } from "../../core/exporter/create.ts";
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
async function claimSlot(directory: string, pid: number): Promise<{ slot: string; release: () => Promise<void> }> {
  const slots = join(directory, "slots");
  await mkdir(slots, { recursive: true, mode: 0o700 });
  for (let n = 1; n <= 4096; n++) {
    const path = join(slots, `${pid}-${n}`);
    try {
      await (await open(path, "wx", 0o600)).close();
      const release = async () => {
        await unlink(path).catch(() => {});
        await rmdir(slots).catch(() => {}); // the last isolate out removes the folder
      };
      return { slot: `worker_${n}`, release };
    } catch (error) {
      if ((error as { code?: string }).code !== "EEXIST") throw error;
    }
  }
  throw new Error(`no free worker slot in ${slots}`);
}

/**
 * Creates the exporter of one `deno serve --parallel` isolate and wires it to its peers.
 * The directory is `multiprocDir`, else `PROMETHEUS_MULTIPROC_DIR`, else one per Deno process
 * under the temporary directory.
 *
 * @example
 * ```ts
 * import { Hono } from "hono";
 * import { createParallelExporter, prometheus } from "hono-prometheus-exporter/deno";
 * const exporter = await createParallelExporter();
 * const app = new Hono();
 * app.use(prometheus({ exporter }));
 * export default { fetch: app.fetch };
 * ```
 */
export async function createParallelExporter(options: CreateExporterOptions = {}): Promise<Exporter> {
  const deno = denoGlobal();
  const runtime = denoRuntime();
  const directory = options.multiprocDir ?? runtime.env("PROMETHEUS_MULTIPROC_DIR") ??
    join(tmpdir(), `hono-prometheus-${deno.pid}`);
  await mkdir(directory, { recursive: true, mode: 0o700 });
  const claimed = options.workerId === undefined ? await claimSlot(directory, deno.pid) : undefined;
  const slot = options.workerId ?? claimed!.slot;
  const channel = new BroadcastChannel(`hono-prometheus:${directory}`);
  const peers = new Set<string>();
  const exitedPeers = new Set<string>();
  const waiting = new Map<number, { pending: Set<string>; done: () => void }>();
  let round = 0;

  const flushPeers = (): Promise<void> => {
    if (peers.size === 0) return Promise.resolve();
    const mine = ++round;
    return new Promise<void>((resolve) => {
      const timer = setTimeout(finish, FLUSH_DEADLINE_MS);
      function finish() {
        clearTimeout(timer);
        waiting.delete(mine);
        resolve();
      }
      waiting.set(mine, { pending: new Set(peers), done: finish });
      channel.postMessage({ type: "flush", from: exporter.identity.base, round: mine } satisfies Message);
    });
  };

  const exporter: Exporter = createExporterFor(runtime, {
    ...options,
    storage: options.storage ?? new FilesystemStorage({ directory }),
    workerId: slot,
    handleSignals: false,
    beforeCollect: flushPeers,
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
      const wait = waiting.get(message.round);
      wait?.pending.delete(message.from);
      if (wait && wait.pending.size === 0) wait.done();
    } else if (message.type === "exited") {
      exitedPeers.add(message.from);
      peers.delete(message.from);
    }
  };
  channel.postMessage({ type: "hello", from: me } satisfies Message);

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    await exporter.workerInt(signal);
    await exporter.onExit();
    await claimed?.release();
    channel.postMessage({ type: "exited", from: me } satisfies Message);
    // Deno.exit from any isolate ends them all: wait until every peer has published its last values.
    for (let i = 0; i < 40 && peers.size > 0; i++) await new Promise((r) => setTimeout(r, 50));
    deno.exit(0);
  };
  for (const signal of ["SIGINT", "SIGTERM"]) deno.addSignalListener(signal, () => void shutdown(signal));

  await exporter.postFork(slot);
  await exporter.whenReady();
  return exporter;
}
