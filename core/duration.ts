const UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** The pattern the policy schema uses for durations: `300s`, `20m`, `99h`, `1d`, `500ms`. */
export const DURATION_PATTERN = '^[0-9]{1,9}(ms|s|m|h|d)$';
const DURATION_RE = new RegExp(DURATION_PATTERN);

/**
 * Parses a duration string into milliseconds; `undefined` when it is not one.
 *
 * @example parseDuration('20m') // 1_200_000
 */
export function parseDuration(text: string): number | undefined {
  const match = DURATION_RE.exec(text);
  if (!match) return undefined;
  const unit = match[1] as string;
  return Number(text.slice(0, text.length - unit.length)) * (UNITS[unit] as number);
}

/** Formats milliseconds as the largest exact unit: `formatDuration(1_200_000) === '20m'`. */
export function formatDuration(ms: number): string {
  for (const unit of ['d', 'h', 'm', 's'] as const) {
    const size = UNITS[unit] as number;
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}
