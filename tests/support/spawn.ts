/** Starts a program, waits for a line on its output, and stops it. */
import { type ChildProcess, spawn } from "node:child_process";
import process from "node:process";

export interface Running {
  readonly child: ChildProcess;
  output(): string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * The ports a child reported: the numbers `pattern` captures in its output. Children bind port 0
 * and print what they got, so no port is picked by a test and raced for.
 */
export function reportedPorts(running: Running, pattern: RegExp): number[] {
  const match = running.output().match(pattern);
  if (match === null) throw new Error(`no ports matching ${pattern} in the output:\n${running.output()}`);
  return match.slice(1).map(Number);
}

/** The app and metrics ports of an example ("app listening on :<port> ... :<port>/metrics"). */
export const EXAMPLE_PORTS = /app listening on :(\d+)\D.*?:(\d+)\/metrics/;

/** Spawns `command`, resolving once its output matches `ready` (rejects after `timeoutMs`). */
export function start(
  command: string,
  args: string[],
  env: Record<string, string>,
  ready: RegExp,
  timeoutMs = 30_000,
): Promise<Running> {
  const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const running: Running = {
    child,
    output: () => output,
    stop: async (signal = "SIGTERM") => {
      // process.kill rather than child.kill: Deno's child.kill reports the signal as the cause of
      // exit even when the child handled it and exited by itself.
      if (child.exitCode === null && child.signalCode === null) process.kill(child.pid!, signal);
      return await exited;
    },
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${command} ${args.join(" ")} did not print ${ready} in ${timeoutMs} ms:\n${output}`));
    }, timeoutMs);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (ready.test(output)) {
        clearTimeout(timer);
        resolve(running);
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${command} exited with ${code} before it was ready:\n${output}`));
    });
  });
}
