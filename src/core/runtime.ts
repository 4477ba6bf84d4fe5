/**
 * What the core asks of a runtime. Each adapter (`src/adapter/<runtime>/`) builds one; the core
 * never touches `process`, `Deno` or `Bun` itself.
 * @module
 */
import type { EnvSource } from "./env.ts";
import type { UnrefTimer } from "./timers.ts";

/** What an adapter knows about the running process, all optional. */
export interface ProcessFacts {
  /** Host name, when the runtime can tell. */
  readonly hostname?: string;
  /** Operating-system process id, when there is one. */
  readonly pid?: number;
}

/** HTTPS settings after validation: both server files, and how clients are checked. */
export interface TlsFiles {
  readonly certFile: string;
  readonly keyFile: string;
  readonly clientCaFile: string | undefined;
  readonly clientCaPath: string | undefined;
  readonly clientAuthRequired: boolean;
}

/** One reading of the process's resources; a field the runtime cannot tell is left out. */
export interface ProbeSample {
  /** Resident set size, in bytes. */
  readonly rssBytes?: number;
  /** User plus system CPU time used so far, in microseconds. */
  readonly cpuMicros?: number;
  /** Seconds since the process started. */
  readonly uptimeSeconds?: number;
}

/** Reads the process's own resources. */
export interface ProcessProbe {
  /** Takes one reading. */
  sample(): ProbeSample;
}

/** A fetch handler: what `serve` serves. */
export type FetchHandler = (request: Request) => Response | Promise<Response>;

/** Options of the host entries' `serve`. */
export interface ServeOptions {
  /** TCP port; 0 picks a free one. */
  readonly port: number;
  /** Address to bind. */
  readonly hostname: string;
  /** Let several processes listen on the port (SO_REUSEPORT): Bun only; a ConfigError on Node and Deno. */
  readonly reusePort?: boolean;
}

/** A server the exporter or `serve` started. */
export interface ServerHandle {
  /** The port it listens on (the real one when 0 was asked for). */
  readonly port: number;
  /** Stops listening and closes connections. */
  close(): Promise<void>;
}

/** What the runtime's `serve` is given: the public options, and HTTPS for the metrics server. */
export interface ServerOptions extends ServeOptions {
  /** Serve HTTPS with this material (the metrics server, when `PROMETHEUS_SSL_*` is set). */
  readonly tls?: TlsMaterial;
}

/** HTTPS material, read and checked: PEM text, and how client certificates are treated. */
export interface TlsMaterial {
  /** Server certificate chain (PEM). */
  readonly cert: string;
  /** Its private key (PEM). Never logged. */
  readonly key: string;
  /** CA certificates (PEM, one per entry) that client certificates must be signed by. */
  readonly ca: readonly string[];
  /** `none`: no client certificate asked; `optional`: verified when sent; `required`: refused without one. */
  readonly clientAuth: "none" | "optional" | "required";
}

/** A runtime adapter. */
export interface Runtime {
  /** The runtime's name, for messages. */
  readonly name: string;
  /** Reads environment variables. */
  readonly env: EnvSource;
  /** Host name and pid, where known. */
  readonly facts: ProcessFacts;
  /** Resource probe; absent where the runtime cannot tell (Workers). */
  readonly probe?: ProcessProbe;
  /** Starts an HTTP server with the runtime's own server; rejects when it cannot bind. */
  readonly serve?: (handler: FetchHandler, options: ServerOptions) => Promise<ServerHandle>;
  /** Keeps a timer from holding the process open. */
  readonly unrefTimer?: UnrefTimer;
  /**
   * Calls `listener` on SIGINT and SIGTERM, telling it whether the app listens to that signal
   * too (undefined where the runtime cannot tell); returns a function that removes it.
   */
  readonly onShutdownSignal?: (listener: (signal: string, appListens: boolean | undefined) => void) => () => void;
  /** Ends the process. */
  readonly exit?: (code: number) => void;
  /**
   * Reads and checks the HTTPS files (host runtimes); a missing or unreadable file, a key that
   * does not match, or what the runtime cannot do is a ConfigError naming the setting and file.
   */
  readonly loadTls?: (files: TlsFiles) => TlsMaterial;
  /**
   * An edge isolate (Workers): no timers between requests and no random values or I/O at module
   * scope. The exporter is built at the first request, publishes after responses through
   * `waitUntil`, and locks `/metrics` until a token is set.
   */
  readonly edge?: boolean;
  /** Hands the runtime the first request's bindings, which `env` then reads. Edge runtimes only. */
  readonly bindEnv?: (bindings: unknown) => void;
  /**
   * Looks for a second copy of prom-client that the app uses (host runtimes): returns a check that,
   * given the exporter's registry, answers a warning once metrics sit where the exporter cannot see them.
   */
  readonly otherPromClient?: () => ((registry: unknown) => string | undefined) | undefined;
}

/** A runtime with nothing but the standard Web APIs (edge isolates, tests). */
export const webRuntime: Runtime = { name: "web", env: () => undefined, facts: {} };
