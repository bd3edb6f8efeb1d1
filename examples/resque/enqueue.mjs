#!/usr/bin/env node
// Usage: node enqueue.mjs [count] [ms]  — enqueues ResizeImage jobs in Resque's format.
import { Redis } from 'ioredis';

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
