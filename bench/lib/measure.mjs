// Small helpers the A/B benches in bench/resque share: numeric options and a median with its range.

/** `--help` prints `help` and exits; returns `opt(name, default)` reading `--name N` as a number. */
export function numericOptions(help, argv = process.argv.slice(2)) {
  if (argv.includes('--help')) {
    console.log(help);
    process.exit(0);
  }
  return (name, def) => {
    const i = argv.indexOf(`--${name}`);
    return i === -1 ? def : Number(argv[i + 1]);
  };
}

/** "median (min–max)" of `xs` with `digits` decimals. */
export function medianRange(xs, digits) {
  const s = [...xs].sort((a, b) => a - b);
  return `${s[Math.floor(s.length / 2)].toFixed(digits)} (${s[0].toFixed(digits)}–${s[s.length - 1].toFixed(digits)})`;
}
