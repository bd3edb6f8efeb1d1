// `npm run demo`: the start-server HTTP demo, then (once it exists) the Resque rolling restart demo.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const demos = ['http-server/demo.mjs', 'resque/demo.mjs'].map((d) => fileURLToPath(new URL(d, import.meta.url))).filter((d) => existsSync(d));
let failed = 0;
for (const demo of demos) {
  const r = spawnSync(process.execPath, [demo], { stdio: 'inherit' });
  if (r.status !== 0) failed++;
}
process.exitCode = failed ? 1 : 0;
