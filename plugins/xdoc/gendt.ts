/**
 * `GenDT`, the token's generation time, in the three shapes XDOC's pages show:
 * `2023-03-08T14:15:53-08:00` (offset), `2023-03-08T22:15:53Z` (UTC) and `20100301T103256`
 * (compact, UTC). Fractions of a second (.NET's round-trip format writes up to seven digits)
 * are accepted in the first two.
 */
const ISO = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,7}))?(Z|[+-]\d{2}:\d{2})$/;
const COMPACT = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})$/;

const DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** Days in `month` (1–12) of `year`, in the Gregorian calendar `Date` uses. */
function daysIn(year: number, month: number): number {
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  return month === 2 && leap ? 29 : (DAYS[month - 1] as number);
}

/**
 * Milliseconds since the epoch, or `undefined` when the text is none of the shapes or names a
 * date that does not exist (`2023-02-30`, hour 24, offset beyond ±14:00).
 *
 * @example parseGenDt('2023-03-08T14:15:53-08:00') === Date.UTC(2023, 2, 8, 22, 15, 53)
 */
export function parseGenDt(text: string): number | undefined {
  const match = ISO.exec(text) ?? COMPACT.exec(text);
  if (!match) return undefined;
  const field = (i: number) => Number(match[i]);
  const [year, month, day, hour, minute, second] = [field(1), field(2), field(3), field(4), field(5), field(6)];
  if (month < 1 || month > 12 || day < 1 || day > daysIn(year < 100 ? 1900 + year : year, month) || hour > 23 || minute > 59 || second > 59) return undefined;
  // Date.UTC reads years 0–99 as 1900–1999; the day check above reads them the same way.
  const utc = Date.UTC(year, month - 1, day, hour, minute, second);
  const fraction = match[7] === undefined ? 0 : Math.floor(Number(`0.${match[7]}`) * 1000);
  const zone = match[8];
  let offset = 0;
  if (zone !== undefined && zone !== 'Z') {
    const hours = Number(zone.slice(1, 3));
    const minutes = Number(zone.slice(4, 6));
    if (hours > 14 || minutes > 59 || (hours === 14 && minutes > 0)) return undefined;
    offset = (zone[0] === '-' ? -1 : 1) * (hours * 60 + minutes) * 60_000;
  }
  return utc + fraction - offset;
}

let lastSecond = Number.NaN;
let lastText = '';

/**
 * UTC to the second, `2023-03-08T22:15:53Z`; with `subMs` (0..9999, in 100 ns ticks) .NET's
 * round-trip shape with seven fraction digits, `2023-03-08T22:15:53.1234567Z`.
 */
export function formatGenDt(ms: number, subMs?: number): string {
  const second = Math.floor(ms / 1000);
  if (second !== lastSecond) {
    lastText = new Date(second * 1000).toISOString().slice(0, 19);
    lastSecond = second;
  }
  if (subMs === undefined) return `${lastText}Z`;
  return `${lastText}.${String((ms - second * 1000) * 10_000 + subMs).padStart(7, '0')}Z`;
}
