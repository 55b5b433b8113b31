import { distance } from 'fastest-levenshtein';

/**
 * The known name closest to a misspelt one, when it is close enough to be what was meant: at
 * most one edit for names up to four characters, else at most a third of the name's length
 * (`tll` → `ttl`, `emalidat` → `emalidate`, `calller` → `caller`). Compared without case, so
 * `Ttl` finds `ttl`. Edit distance comes from `fastest-levenshtein` (small, no dependencies,
 * well kept) rather than a hand-written loop.
 *
 * @example suggestion('tll', ['ttl', 'route']) // → 'ttl'
 */
export function suggestion(given: string, known: Iterable<string>): string | undefined {
  const wanted = given.toLowerCase();
  const limit = Math.max(1, Math.floor(given.length / 3));
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const name of known) {
    if (name === given) return undefined;
    const d = distance(wanted, name.toLowerCase());
    if (d <= limit && d < bestDistance) {
      best = name;
      bestDistance = d;
    }
  }
  return best;
}

/** `did you mean "x"? ` for a message, or `` when nothing is close. */
export function didYouMean(given: string, known: Iterable<string>): string {
  const close = suggestion(given, known);
  return close === undefined ? '' : `did you mean "${close}"? `;
}
