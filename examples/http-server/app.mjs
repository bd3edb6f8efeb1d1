// A minimal app for start-server: adopt the inherited socket, drain on TERM.
//   start-server --port=8080 -- node app.mjs
//   kill -HUP <start-server pid>     # new generation, no request dropped
import { createServer } from 'node:http';
import { closeOnSignal, listen } from '@baton/server-starter';

const generation = process.env.SERVER_STARTER_GENERATION ?? '-';
const delayMs = Number(process.env.APP_DELAY_MS ?? 0);

const server = createServer((req, res) => {
  const reply = () => res.end(`hello from pid ${process.pid}, generation ${generation}\n`);
  if (delayMs > 0) setTimeout(reply, delayMs);
  else reply();
});

closeOnSignal(server, { timeoutMs: 10_000 });
const socket = await listen(server, { fallback: 8080 });
console.error(`app ${process.pid} (generation ${generation}) listening on ${socket?.address ?? 'port 8080'}`);
