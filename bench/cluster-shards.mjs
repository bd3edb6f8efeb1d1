// Sharding by namespaces on Redis Cluster (issue 17): one Resque namespace lives on one slot, so
// a 3-primary cluster serves it from one primary. This measures, on a fresh 3-primary cluster,
// the same backlog of no-op jobs drained by the same number of worker processes, once with every
// job and worker on 1 namespace, once spread over N namespaces whose hash tags are owned by
// different primaries (one job to one namespace, workers split evenly).
//
//   npm run build && node bench/cluster-shards.mjs [--jobs 30000] [--workers 3] [--concurrency 10] [--namespaces 3] [--repeat 1]
//
// Prints jobs/s per layout. Worker processes are children (one Node process each), so Redis, not
// one Node process, is what is shared.
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Queue } from '@baton/resque';
import { killAllNow, startNode, stopAll, until } from './lib/topology.mjs';

if (process.argv[2] === '--child') {
  // A worker process: drains its namespace, then reports how many jobs it ran.
  const { Worker } = await import('@baton/resque');
  const [nodes, namespace, concurrency] = [JSON.parse(process.argv[3]), process.argv[4], Number(process.argv[5])];
  let ran = 0;
  const w = new Worker({ redis: { cluster: nodes }, namespace, queues: ['q'], concurrency, jobs: { Noop: () => void ran++ } });
  await w.start();
  process.send({ t: 'ready' });
  process.on('message', async (m) => {
    if (m.t !== 'stop') return;
    await w.stop({ graceful: true });
    process.send({ t: 'done', ran });
    process.exit(0);
  });
} else {
  const { values } = parseArgs({
    options: { jobs: { type: 'string', default: '30000' }, workers: { type: 'string', default: '3' }, concurrency: { type: 'string', default: '10' }, namespaces: { type: 'string', default: '3' }, repeat: { type: 'string', default: '1' } },
  });
  const [jobs, workers, concurrency, shards, repeat] = ['jobs', 'workers', 'concurrency', 'namespaces', 'repeat'].map((k) => Number(values[k]));
  process.on('exit', killAllNow);
  const dir = mkdtempSync(join(tmpdir(), 'baton-shards-'));
  try {
    const nodes = [];
    for (let i = 0; i < 3; i++) nodes.push(await startNode(dir, { args: ['--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${i}.conf`] }));
    const clients = nodes.map((n) => n.client());
    const per = Math.floor(16384 / 3);
    for (let i = 0; i < 3; i++) await clients[i].call('CLUSTER', 'ADDSLOTSRANGE', i * per, i === 2 ? 16383 : i * per + per - 1);
    for (let i = 1; i < 3; i++) await clients[0].call('CLUSTER', 'MEET', '127.0.0.1', nodes[i].port);
    await until(async () => {
      for (const c of clients) if (!/cluster_state:ok/.test(await c.call('CLUSTER', 'INFO'))) return false;
      return true;
    }, 20_000, 'the cluster');
    const addresses = nodes.map((n) => ({ host: '127.0.0.1', port: n.port }));
    // Namespaces whose tags are owned by different primaries (the first ones found), fresh for each run.
    const ownerOf = async (ns) => Math.min(2, Math.floor(Number(await clients[0].call('CLUSTER', 'KEYSLOT', ns)) / per));
    const spreadFor = async (r) => {
      const picked = new Map();
      for (let i = 0; picked.size < shards && i < 1000; i++) {
        const ns = `{shard${r}-${i}}`;
        const owner = await ownerOf(ns);
        if (picked.size >= 3 || ![...picked.values()].includes(owner)) picked.set(ns, owner);
      }
      return picked;
    };
    console.log(`cluster-shards: ${jobs} no-op jobs, ${workers} worker process(es) × concurrency ${concurrency}, 3 primaries; 1 namespace vs ${shards} on different primaries`);
    for (let r = 0; r < repeat; r++) {
      const spread = await spreadFor(r);
      for (const layout of [[`{one${r}}`], [...spread.keys()]]) {
        const rate = await drain(addresses, layout, { jobs, workers, concurrency });
        const where = await Promise.all(layout.map(async (n) => `${n} on primary ${await ownerOf(n)}`));
        console.log(`  ${layout.length} namespace(s) (${where.join(', ')}): ${Math.round(rate)} jobs/s`);
      }
    }
  } finally {
    await stopAll();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Enqueues `jobs` over `namespaces` (round robin), starts `workers` children split over them, times the drain. */
async function drain(addresses, namespaces, { jobs, workers, concurrency }) {
  const queues = namespaces.map((namespace) => new Queue({ redis: { cluster: addresses }, namespace }));
  for (let i = 0; i < jobs; i += 500) await Promise.all(Array.from({ length: Math.min(500, jobs - i) }, (_, k) => queues[(i + k) % queues.length].enqueue('q', 'Noop')));
  const children = Array.from({ length: workers }, (_, i) => fork(new URL(import.meta.url).pathname, ['--child', JSON.stringify(addresses), namespaces[i % namespaces.length], String(concurrency)], { stdio: 'inherit' }));
  await Promise.all(children.map((c) => new Promise((resolve) => c.on('message', (m) => m.t === 'ready' && resolve()))));
  const t0 = performance.now();
  await until(async () => (await Promise.all(queues.map((q) => q.size('q')))).every((n) => n === 0), 600_000, 'the backlog to drain');
  const ms = performance.now() - t0;
  const ran = await Promise.all(children.map((c) => new Promise((resolve) => { c.on('message', (m) => m.t === 'done' && resolve(m.ran)); c.send({ t: 'stop' }); })));
  await Promise.all(queues.map((q) => q.close()));
  const total = ran.reduce((a, b) => a + b, 0);
  if (total < jobs) console.log(`  (ran ${total} of ${jobs})`);
  return jobs / (ms / 1000);
}
