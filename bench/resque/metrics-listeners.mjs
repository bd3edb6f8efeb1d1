// The worker side of metrics alone: a resque-starter worker's job listeners (src/worker-metrics.ts)
// driven in a loop, µs per job without and with them. Not a test.
//   npm run build && node bench/resque/metrics-listeners.mjs
import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import { reportJobOutcomes } from '../../packages/resque-starter/dist/worker-metrics.js';

const N = 500_000;
function run(withMetrics) {
  const w = new EventEmitter();
  let bytes = 0;
  if (withMetrics) reportJobOutcomes(w, (m) => void (bytes += JSON.stringify(m).length));
  const t0 = performance.now();
  for (let i = 0; i < N; i++) {
    const job = { queue: 'q', payload: { class: 'Noop', args: [] }, startedAt: new Date(), workerId: 'h:1:q' };
    w.emit('job', job);
    if (w.listenerCount('finished') > 0) w.emit('finished', job, undefined);
    w.emit('success', job, undefined);
  }
  return ((performance.now() - t0) * 1000) / N;
}
for (let r = 0; r < 3; r++) console.log(`without ${run(false).toFixed(2)} µs/job, with ${run(true).toFixed(2)} µs/job`);
