#!/usr/bin/env node
// The CLI's first module (issue 16): a rolling restart's first spare starts here, before the rest
// of our code loads (early-spare.ts); then the CLI itself (cli.ts) is loaded and runs.
import { spawnEarlySpare } from './early-spare.js';

spawnEarlySpare(process.argv.slice(2), process.env, process.pid);
await import('./cli.js');
