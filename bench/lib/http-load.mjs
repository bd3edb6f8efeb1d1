// A bounded HTTP load generator on node:http, shared by bench/start-server-hup.mjs (as a separate
// process) and test/server-starter-perl.test.ts (in-process).
//
// Each of `concurrency` clients sends GET requests back to back until stopped (or until
// `maxRequests` in all). Without keep-alive every request opens a fresh connection and says
// `Connection: close`; with keep-alive all clients share one Agent({keepAlive}) of
// `concurrency` sockets. Nothing is retried: any socket error, timeout, non-200 status or a
// body without `generation N` counts as a failure, by error code.
//
// As a CLI (prints one JSON summary line on stdout when done):
//   node bench/lib/http-load.mjs --port 8080 [--host 127.0.0.1] [--keep-alive] [--concurrency 8]
//        [--duration 25] [--timeout 10]        # stops after --duration seconds, or on SIGTERM/SIGINT
import { Agent, request } from 'node:http';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

/**
 * Starts the load. Returns live `stats` and `stop()` (resolves with the summary once every
 * request in flight has ended).
 * @param {{ port: number, host?: string, keepAlive: boolean, concurrency?: number, timeoutMs?: number, maxRequests?: number, path?: string }} opts
 */
export function startLoad({ port, host = '127.0.0.1', keepAlive, concurrency = 4, timeoutMs = 10_000, maxRequests = Infinity, path = '/' }) {
  const stats = {
    keepAlive,
    requests: 0,
    ok: 0,
    failed: 0,
    /** @type {Record<string, number>} */
    errors: {},
    /** @type {Record<string, number>} responses by the `generation N` in their body */
    byGeneration: {},
    /** @type {number[]} ms, successful requests only */
    latencies: [],
    /** @type {string[]} the first few failures, for a message */
    samples: [],
  };
  const agent = keepAlive ? new Agent({ keepAlive: true, maxSockets: concurrency }) : new Agent({ keepAlive: false });
  const headers = keepAlive ? {} : { Connection: 'close' };
  let running = true;
  const startedAt = performance.now();
  let stoppedAt = 0;

  const fail = (code, detail) => {
    stats.failed++;
    stats.errors[code] = (stats.errors[code] ?? 0) + 1;
    if (stats.samples.length < 10) stats.samples.push(`${code}: ${detail}`);
  };

  const one = () =>
    new Promise((resolve) => {
      const t0 = performance.now();
      stats.requests++;
      let settled = false;
      const settle = () => {
        settled = true;
        resolve(undefined);
      };
      const req = request({ host, port, path, agent, headers, timeout: timeoutMs }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d) => (body += d));
        res.on('error', (err) => {
          if (!settled) {
            fail(err.code ?? err.message, `response: ${err.message}`);
            settle();
          }
        });
        res.on('end', () => {
          if (settled) return;
          const gen = /generation (\d+)/.exec(body)?.[1];
          if (res.statusCode !== 200) fail(`HTTP_${res.statusCode}`, body.slice(0, 200));
          else if (gen === undefined) fail('BAD_BODY', body.slice(0, 200));
          else {
            stats.ok++;
            stats.byGeneration[gen] = (stats.byGeneration[gen] ?? 0) + 1;
            stats.latencies.push(performance.now() - t0);
          }
          settle();
        });
      });
      req.on('timeout', () => req.destroy(Object.assign(new Error(`no response within ${timeoutMs} ms`), { code: 'TIMEOUT' })));
      req.on('error', (err) => {
        if (settled) return;
        fail(err.code ?? err.message, err.message);
        settle();
      });
      req.end();
    });

  const client = async () => {
    while (running && stats.requests < maxRequests) await one();
  };
  const clients = Promise.all(Array.from({ length: concurrency }, client)).then(() => {
    stoppedAt ||= performance.now();
    agent.destroy();
  });

  return {
    stats,
    /** Resolves when every client has stopped (by `stop()` or `maxRequests`). */
    done: clients.then(() => summarize(stats, stoppedAt - startedAt)),
    async stop() {
      running = false;
      stoppedAt ||= performance.now();
      await clients;
      return summarize(stats, stoppedAt - startedAt);
    },
  };
}

/** Percentile of a sorted array (nearest rank). */
export function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/** Counts, error codes, p50/p99/max latency (ms) and requests/s. */
export function summarize(stats, elapsedMs) {
  const sorted = Float64Array.from(stats.latencies).sort();
  return {
    keepAlive: stats.keepAlive,
    requests: stats.requests,
    ok: stats.ok,
    failed: stats.failed,
    errors: stats.errors,
    samples: stats.samples,
    byGeneration: stats.byGeneration,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    max: sorted.length ? sorted[sorted.length - 1] : NaN,
    seconds: elapsedMs / 1000,
    rps: stats.requests / (elapsedMs / 1000),
  };
}

// --- CLI ---
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { values: o } = parseArgs({
    options: {
      port: { type: 'string' },
      host: { type: 'string', default: '127.0.0.1' },
      'keep-alive': { type: 'boolean', default: false },
      concurrency: { type: 'string', default: '8' },
      duration: { type: 'string', default: '25' },
      timeout: { type: 'string', default: '10' },
    },
  });
  if (!o.port) {
    process.stderr.write('usage: http-load.mjs --port N [--host H] [--keep-alive] [--concurrency N] [--duration S] [--timeout S]\n');
    process.exit(2);
  }
  const load = startLoad({
    port: Number(o.port),
    host: o.host,
    keepAlive: o['keep-alive'],
    concurrency: Number(o.concurrency),
    timeoutMs: Number(o.timeout) * 1000,
  });
  const timer = setTimeout(() => void finish(), Number(o.duration) * 1000);
  let finishing = false;
  const finish = async () => {
    if (finishing) return;
    finishing = true;
    clearTimeout(timer);
    const summary = await load.stop();
    process.stdout.write(`${JSON.stringify(summary)}\n`);
  };
  process.on('SIGTERM', () => void finish());
  process.on('SIGINT', () => void finish());
}
