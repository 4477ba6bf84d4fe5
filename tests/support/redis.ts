/**
 * Starts a real redis-server (Debian's package) on a loopback port, for one test file. Redis
 * cannot bind port 0 and report it (`--port 0` turns TCP off), so a free port is picked and, when
 * another process takes it first, the start is retried on another.
 */
import { spawn } from "node:child_process";
import { freePort } from "./runtime.ts";

export interface RedisServer {
  readonly port: number;
  stop(): Promise<void>;
}

export async function startRedis(): Promise<RedisServer> {
  for (let attempt = 1;; attempt++) {
    try {
      return await startOn(await freePort());
    } catch (error) {
      if (!(error instanceof PortTaken) || attempt === 5) throw error;
    }
  }
}

class PortTaken extends Error {}

async function startOn(port: number): Promise<RedisServer> {
  const child = spawn("redis-server", [
    "--port",
    String(port),
    "--bind",
    "127.0.0.1",
    "--save",
    "",
    "--appendonly",
    "no",
  ], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  await new Promise<void>((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`redis-server did not start:\n${out}`));
    }, 10_000);
    child.once(
      "error",
      (error) => reject(new Error(`redis-server is not installed (apt-get install redis-server): ${error.message}`)),
    );
    child.once("exit", () => {
      clearTimeout(timer);
      reject(/Address already in use/i.test(out) ? new PortTaken(out) : new Error(`redis-server exited:\n${out}`));
    });
    const onData = (d: Buffer) => {
      out += d;
      if (out.includes("Ready to accept connections")) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
  });
  return {
    port,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
      }),
  };
}
