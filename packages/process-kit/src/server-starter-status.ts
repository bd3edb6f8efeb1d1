// Server::Starter's status file (`--status-file`): one `generation:pid` line per live
// generation. start-server writes it; resque-starter reads it to find the masters it replaces.

/** A live generation as listed in the status file. */
export interface StatusLine {
  generation: number;
  pid: number;
}

/** Why: status-file lines `gen:pid`, sorted by generation as numbers (Perl sorted them as text). */
export function formatStatusFile(lines: readonly StatusLine[]): string {
  return [...lines]
    .sort((a, b) => a.generation - b.generation)
    .map((l) => `${l.generation}:${l.pid}\n`)
    .join('');
}

/** Why: the one reader of the format (Perl's file too): `gen:pid` lines sorted by generation; anything else is ignored. */
export function parseStatusFile(text: string): StatusLine[] {
  const out: StatusLine[] = [];
  for (const line of text.split('\n')) {
    const m = /^(\d+):(\d+)\s*$/.exec(line);
    if (m) out.push({ generation: Number(m[1]), pid: Number(m[2]) });
  }
  return out.sort((a, b) => a.generation - b.generation);
}
