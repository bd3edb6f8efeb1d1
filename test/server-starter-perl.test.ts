// Interop with the real Perl tools (Debian libserver-starter-perl, starlet):
// - an app written with our helper (examples/http-server/app.mjs) runs unchanged under Perl's
//   start_server;
// - Perl's `plackup -s Starlet` runs unchanged under our start-server;
// and both survive several HUPs while keep-alive and non-keep-alive clients keep sending
// requests, with 0 failures; and our start-server hands its socket over in the same (blocking)
// mode as Perl's. Skipped only when the Perl tools are not installed (.ci/run installs them).
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { startLoad, type Load, type LoadSummary } from '../bench/lib/http-load.mjs';
import { freePort } from './helpers/ports.js';
import { startServerProcess } from './helpers/start-server.js';
import { ROOT, spawnTracked, type Spawned } from './helpers/spawn.js';
import { pidAlive, pollUntil, waitForPidExit } from './helpers/wait.js';

const NODE_APP = `${ROOT}examples/http-server/app.mjs`;
const PSGI_APP = `${ROOT}test/fixtures/perl-app.psgi`;

const has = (script: string) => spawnSync('sh', ['-c', script], { stdio: 'ignore' }).status === 0;
const havePerlStartServer = has('command -v start_server');
const haveStarlet = has('command -v plackup && perl -MPlack::Handler::Starlet -e1');

const HUPS = 3;

/**
 * Two loads at once: keep-alive clients and one-connection-per-request clients, each request
 * sent as soon as the previous one is answered (so requests are in flight whenever a HUP
 * lands). Bounded by the test's few seconds, and capped as a safety net.
 */
function startLoads(port: number): Load[] {
  return [true, false].map((keepAlive) => startLoad({ port, keepAlive, concurrency: 3, timeoutMs: 10_000, maxRequests: 200_000 }));
}

/** Runs `body` while both loads run; stops them (also on failure) and returns their summaries. */
async function underLoad(port: number, body: (loads: Load[]) => Promise<void>): Promise<LoadSummary[]> {
  const loads = startLoads(port);
  try {
    await body(loads);
  } catch (err) {
    await Promise.all(loads.map((l) => l.stop()));
    throw err;
  }
  return await Promise.all(loads.map((l) => l.stop()));
}

/** Waits until every load has had a response from `generation`. */
async function servedBy(loads: Load[], generation: number): Promise<void> {
  await pollUntil(() => loads.every((l) => (l.stats.byGeneration[generation] ?? 0) > 0), {
    timeoutMs: 15_000,
    what: `responses from generation ${generation} on every load (${loads.map((l) => JSON.stringify(l.stats.byGeneration)).join(' ')})`,
  });
}

/**
 * One HUP, synchronised on the supervisor's log (both print the same Server::Starter lines):
 * new worker started, old one signalled once the new one is up, old one reaped; then the
 * new generation answers the clients. Returns the new worker's pid.
 */
async function roll(ss: Spawned, oldPid: number, generation: number, loads: Load[]): Promise<number> {
  const from = ss.output.length;
  ss.kill('SIGHUP');
  const [, newPid] = (await ss.waitForLine(/starting new worker (\d+)/, { from }))!;
  await ss.waitForLine(new RegExp(`new worker is now running, sending TERM to old workers:${oldPid}\\b`), { from, timeoutMs: 15_000 });
  await ss.waitForLine(new RegExp(`old worker ${oldPid} died`), { from, timeoutMs: 15_000 });
  await servedBy(loads, generation);
  return Number(newPid);
}

function expectNoFailures(summaries: LoadSummary[], generations: number): void {
  for (const s of summaries) {
    const what = `${s.keepAlive ? 'keep-alive' : 'Connection: close'} load: ${JSON.stringify({ requests: s.requests, errors: s.errors, samples: s.samples })}`;
    expect(s.failed, what).toBe(0);
    expect(s.ok, what).toBe(s.requests);
    expect(s.requests, what).toBeGreaterThan(100);
    // Every generation, 1 to HUPS + 1, served this load.
    expect(Object.keys(s.byGeneration).map(Number).sort((a, b) => a - b), what).toEqual(Array.from({ length: generations }, (_, i) => i + 1));
  }
}

/** One more request after the load: the newest generation answers it. */
async function generationNow(port: number): Promise<number> {
  const s = await startLoad({ port, keepAlive: false, concurrency: 1, maxRequests: 1 }).done;
  expect(s.failed, JSON.stringify(s.samples)).toBe(0);
  return Number(Object.keys(s.byGeneration)[0]);
}

// A Perl generation that reports whether its inherited socket is in non-blocking mode, then
// waits for TERM.
const REPORT_NONBLOCK = [
  'perl',
  '-MFcntl',
  '-e',
  'my ($fd) = $ENV{SERVER_STARTER_PORT} =~ /=(\\d+)$/; open(my $s, "+<&=", $fd) or die "fdopen $fd: $!";' +
    ' printf STDERR "inherited fd %d nonblocking=%d\\n", $fd, (fcntl($s, F_GETFL, 0) & O_NONBLOCK) ? 1 : 0;' +
    ' $SIG{TERM} = sub { exit 0 }; sleep 1000 while 1;',
];

describe('interop with Perl Server::Starter and Starlet', () => {
  it.skipIf(!havePerlStartServer)(
    "an app written with our helper runs unchanged under Perl's start_server and survives HUPs under load",
    async () => {
      const port = await freePort();
      const ss = spawnTracked('start_server', [`--port=127.0.0.1:${port}`, '--', process.execPath, NODE_APP], {
        label: 'perl start_server -- node app.mjs',
      });
      const [, first] = (await ss.waitForLine(/app (\d+) \(generation 1\) listening on 127\.0\.0\.1:(\d+)/))!;
      let pid = Number(first);
      const summaries = await underLoad(port, async (loads) => {
        await servedBy(loads, 1);
        for (let gen = 2; gen <= HUPS + 1; gen++) {
          pid = await roll(ss, pid, gen, loads);
          await ss.waitForLine(new RegExp(`app ${pid} \\(generation ${gen}\\) listening`));
        }
      });
      expectNoFailures(summaries, HUPS + 1);
      expect(await generationNow(port)).toBe(HUPS + 1);
      expect(ss.count(/seems to have failed to start|died unexpectedly/)).toBe(0);

      // Perl's start_server stops its worker on TERM (our app drains and exits 0).
      expect(await ss.stop()).toEqual({ code: 0, signal: null });
      expect(ss.output).toMatch(new RegExp(`worker ${pid} died, status:0`));
      await waitForPidExit(pid);
    },
    60_000,
  );

  it.skipIf(!haveStarlet)(
    "Perl's plackup -s Starlet runs unchanged under our start-server and survives HUPs under load",
    async () => {
      const port = await freePort();
      const ss = startServerProcess(
        [`--port=127.0.0.1:${port}`, '--interval=1'],
        // Starlet accept()s on the inherited fd without calling listen(): start-server must hand
        // it a listening socket. --max-keepalive-reqs turns on keep-alive (Starlet's default is
        // off); -E deployment drops the per-request access log.
        ['plackup', '-E', 'deployment', '-s', 'Starlet', '--max-workers=2', '--max-keepalive-reqs=20', PSGI_APP],
      );
      const [, first] = (await ss.waitForLine(/starting new worker (\d+) \(generation 1\)/))!;
      let pid = Number(first);
      const summaries = await underLoad(port, async (loads) => {
        await servedBy(loads, 1);
        for (let gen = 2; gen <= HUPS + 1; gen++) {
          pid = await roll(ss, pid, gen, loads);
          expect(ss.output).toMatch(new RegExp(`starting new worker ${pid} \\(generation ${gen}\\)`));
        }
      });
      expectNoFailures(summaries, HUPS + 1);
      expect(await generationNow(port)).toBe(HUPS + 1);
      expect(ss.count(/seems to have failed to start|died unexpectedly/)).toBe(0);

      expect(await ss.stop()).toEqual({ code: 0, signal: null });
      expect(ss.output).toMatch(new RegExp(`worker ${pid} died, status:0`));
      expect(pidAlive(pid)).toBe(false);
    },
    60_000,
  );

  it.skipIf(!havePerlStartServer)(
    "hands the socket to a generation in blocking mode, as Perl's start_server does (Starlet's workers block in accept())",
    async () => {
      const mode = async (ss: Spawned) => {
        const [, nonblocking] = (await ss.waitForLine(/inherited fd \d+ nonblocking=(\d)/))!;
        expect((await ss.stop()).code).toBe(0);
        return Number(nonblocking);
      };
      const perl = await mode(spawnTracked('start_server', [`--port=127.0.0.1:${await freePort()}`, '--', ...REPORT_NONBLOCK], { label: 'perl start_server' }));
      expect(perl).toBe(0);
      // O_NONBLOCK belongs to the shared open file description: a non-blocking listener makes
      // every Starlet worker spin on accept() -> EAGAIN while idle.
      const ours = await mode(startServerProcess([`--port=127.0.0.1:${await freePort()}`], REPORT_NONBLOCK));
      expect(ours, 'O_NONBLOCK set on the listening socket our start-server hands over').toBe(perl);
    },
  );
});
