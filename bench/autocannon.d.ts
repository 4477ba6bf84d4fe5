// The part of autocannon's API the HTTP benchmark uses (the package ships no types).
declare module "autocannon" {
  interface Result {
    requests: { average: number };
    non2xx: number;
    errors: number;
  }
  function autocannon(
    options: { url: string; connections: number; duration: number },
    callback: (error: Error | null, result: Result) => void,
  ): unknown;
  export default autocannon;
}
