#!/usr/bin/env node
// Usage: node enqueue.mjs [count] [ms]  — enqueues ResizeImage jobs in Resque's format.
//        node enqueue.mjs receipt ORDER  — a SendReceipt job (fails twice, retried, then done).
//        node enqueue.mjs later SECONDS  — a ResizeImage job delayed by SECONDS (resque-scheduler's delayed queue).
import { Queue } from '@baton/resque';
import { Redis } from 'ioredis';

if (process.argv[2] === 'receipt' || process.argv[2] === 'later') {
  const queue = new Queue({ redis: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', namespace: process.env.RESQUE_NAMESPACE ?? 'resque' });
  if (process.argv[2] === 'receipt') {
    await queue.enqueue('default', 'SendReceipt', process.argv[3] ?? 'order-1');
    console.log('enqueued SendReceipt: watch it fail twice (logged at info), then succeed');
  } else {
    const seconds = Number(process.argv[3] ?? 10);
    await queue.enqueueIn(seconds * 1000, 'images', 'ResizeImage', `later-${Date.now().toString(36)}`, 200);
    console.log(`enqueued ResizeImage to run in ${seconds} s (resque-starter queues shows it as delayed)`);
  }
  await queue.close();
  process.exit(0);
}

const count = Number(process.argv[2] ?? 100);
const ms = Number(process.argv[3] ?? 200);
const ns = process.env.RESQUE_NAMESPACE ?? 'resque';
const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
await redis.sadd(`${ns}:queues`, 'images');
const stamp = Date.now().toString(36);
const payloads = Array.from({ length: count }, (_, i) => JSON.stringify({ class: 'ResizeImage', args: [`${stamp}-${i}`, ms] }));
for (let i = 0; i < payloads.length; i += 500) await redis.rpush(`${ns}:queue:images`, ...payloads.slice(i, i + 500));
console.log(`enqueued ${count} ResizeImage jobs of ${ms} ms on ${ns}:queue:images`);
await redis.quit();
