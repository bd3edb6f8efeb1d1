// The app of web.service / web-activated.service: adopts the socket start-server holds, reports
// READY=1 once listening (start-server --ready-notify retires the old generation only then),
// and drains on TERM.
import { createServer } from 'node:http';
import { closeOnSignal, listen, notifyReady } from '@baton/server-starter/listen';

const generation = process.env.SERVER_STARTER_GENERATION ?? '-';
const server = createServer((req, res) => res.end(`hello from pid ${process.pid}, generation ${generation}\n`));
closeOnSignal(server, { timeoutMs: 10_000 });
const socket = await listen(server, { fallback: 8080 });
notifyReady();
console.error(`app ${process.pid} (generation ${generation}) listening on ${socket?.address ?? 'port 8080'}`);
