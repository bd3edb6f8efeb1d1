// The ioredis a config gets when it imports the installed ioredis (issue 16): the build bundles
// this entry with the workers' code (scripts/bundle.mjs), so apps and workers share one copy, the
// bundled one when the installed ioredis is its version. config-cache.ts aliases it by file.
export { default } from 'ioredis';
