// The README demo for start-server: run the example app under start-server, keep HTTP
// clients busy (half of them keep-alive), HUP three times, and print what happened.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { Agent, request } from 'node:http';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));
const bin = fileURLToPath(new URL('../../packages/server-starter/dist/cli.js', import.meta.url));
const port = await new Promise((resolve) => {
  const s = createServer().listen(0, '127.0.0.1', () => {
    const p = s.address().port;
    s.close(() => resolve(p));
  });
});

const ss = spawn(process.execPath, [bin, `--port=127.0.0.1:${port}`, '--interval=0.5', '--', process.execPath, `${here}app.mjs`], {
  stdio: ['ignore', 'inherit', 'pipe'],
  env: { ...process.env },
});
let log = '';
ss.stderr.on('data', (d) => {
  log += d;
  process.stderr.write(String(d).replace(/^/gm, '  | '));
});
const waitLog = async (re) => {
  while (!re.test(log)) await once(ss.stderr, 'data');
};
await waitLog(/new worker is now running/);

const stats = { ok: 0, failed: 0, errors: {}, byGeneration: {} };
let running = true;
const client = async (agent) => {
  while (running) {
    await new Promise((resolve) => {
      const req = request({ host: '127.0.0.1', port, agent }, (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => {
          const gen = /generation (\d+)/.exec(body)?.[1] ?? '?';
          stats.byGeneration[gen] = (stats.byGeneration[gen] ?? 0) + 1;
          stats.ok++;
          resolve();
        });
      });
      req.on('error', (err) => {
        stats.failed++;
        stats.errors[err.code] = (stats.errors[err.code] ?? 0) + 1;
        resolve();
      });
      req.end();
    });
  }
};
const keepAlive = new Agent({ keepAlive: true, maxSockets: 4 });
const clients = [...Array.from({ length: 4 }, () => client(keepAlive)), ...Array.from({ length: 4 }, () => client(new Agent({ keepAlive: false })))];

for (let i = 0; i < 3; i++) {
  await new Promise((r) => setTimeout(r, 1000)); // let traffic flow between restarts (demo pacing, not synchronisation)
  const before = (log.match(/old worker \d+ died/g) ?? []).length;
  process.stderr.write(`\n>>> kill -HUP ${ss.pid}  (restart ${i + 1} of 3)\n`);
  ss.kill('SIGHUP');
  while ((log.match(/old worker \d+ died/g) ?? []).length === before) await once(ss.stderr, 'data');
}
running = false;
await Promise.all(clients);
keepAlive.destroy();
ss.kill('SIGTERM');
const [code] = await once(ss, 'exit');

console.log('\n=== start-server demo ===');
console.log(`requests: ${stats.ok + stats.failed}, failed: ${stats.failed}${stats.failed ? ` ${JSON.stringify(stats.errors)}` : ''}`);
console.log(`served by generation: ${JSON.stringify(stats.byGeneration)}`);
console.log(`start-server exit code: ${code}`);
process.exitCode = stats.failed === 0 && code === 0 ? 0 : 1;
