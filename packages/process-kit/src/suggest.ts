/**
 * Why: a misspelled name gets one "did you mean" instead of a list to read through. The edit
 * distance (insertions, deletions, substitutions, swaps of two neighbours) is taken on names
 * with case, `_` and `-` ignored, so `pidfile`, `pid_file` and `PidFile` are all `pidFile`.
 */
export function closest(word: string, candidates: Iterable<string>, aliases: Readonly<Record<string, string>> = {}): string | undefined {
  const w = normalise(word);
  for (const [alias, target] of Object.entries(aliases)) if (normalise(alias) === w) return target;
  let best: string | undefined;
  let bestDistance = Infinity;
  const list = [...candidates];
  // A name cut short (`onFail`, `maxMem`) is one the user started to write.
  const started = w.length >= 4 ? list.filter((c) => normalise(c).startsWith(w)) : [];
  if (started.length === 1) return started[0];
  for (const c of list) {
    const d = editDistance(w, normalise(c));
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  // A typo, not another word: 1 edit in short names, 2 up to 8 letters, 3 beyond.
  const allowed = w.length <= 4 ? 1 : w.length <= 8 ? 2 : 3;
  return bestDistance <= allowed ? best : undefined;
}

/** Edit distance with adjacent transpositions (optimal string alignment): `dealy` → `delay` is 1. */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

function normalise(s: string): string {
  return s.toLowerCase().replace(/[_-]/g, '');
}
