/**
 * Date parsing for front matter. Pure: no I/O, no dependence on the host's time zone.
 *
 * A value written without an offset is wall-clock time in the configured IANA zone
 * (DEFAULT_TIMEZONE). The zone conversion uses Intl.DateTimeFormat, so DST follows the
 * tz database of the runtime.
 */

const MS_PER_DAY = 86_400_000;
/** ECMAScript's Date range: ±100,000,000 days around the epoch. */
const MAX_TIME = 8.64e15;

interface DateFields {
  year: number;
  month: number; // 1-12
  day: number;
  hour: number;
  minute: number;
  second: number;
  ms: number;
  /** Minutes east of UTC; null when the text gave no offset (read in the default zone). */
  offsetMinutes: number | null;
}

/**
 * Parses a front-matter date into an ISO 8601 UTC string (`2022-03-02T06:50:07.000Z`),
 * or null when the value is not a recognizable date. Never throws for bad input; throws a
 * RangeError only for an unknown `timeZone` (a configuration mistake, not an author's).
 *
 * Accepted: Date objects; epoch seconds or milliseconds; ISO 8601 / YAML timestamps
 * (`2022-03-02`, `2022-03-02 06:50:07`, `2022-03-02T06:50:07.5+08:00`, `…z`, extended
 * years `+275760-…`); `2013/7/13 20:46:25`, `2013.07.13`; RFC 2822
 * (`Wed, 02 Mar 2022 06:50:07 GMT`, `+0800`); `March 2, 2022 [06:50]`; `2 March 2022`;
 * JS `Date#toString()` output (`Wed Mar 02 2022 14:50:07 GMT+0800 (…)`).
 * A field out of range rolls over as Hexo reads it (see readDate); nothing else refuses it.
 */
export function parseDate(value: unknown, timeZone: string): string | null {
  return readDate(value, timeZone).iso;
}

export interface DateReading {
  /** ISO 8601 UTC, or null when no generator would read the value as a date. */
  iso: string | null;
  /**
   * A field was out of range (`18:51:79`, `02-30`, month 13) and rolled over into the
   * next unit, as Hexo reads it (js-yaml and moment build the date with `Date.UTC`, which
   * carries the excess): `18:51:79` is `18:52:19`, February 30 is March 2 (1 in leap years).
   */
  rolledOver: boolean;
}

/** parseDate(), also telling whether the value was out of range and rolled over. */
export function readDate(value: unknown, timeZone: string): DateReading {
  assertTimeZone(timeZone);
  const iso = (v: string | null): DateReading => ({ iso: v, rolledOver: false });
  if (value instanceof Date) {
    // smol-toml's local dates/times are Date subclasses whose toISOString() has no offset.
    const maybeLocal = value as Date & { isLocal?: () => boolean };
    if (typeof maybeLocal.isLocal === 'function' && maybeLocal.isLocal()) {
      return readDate(value.toISOString(), timeZone);
    }
    return iso(Number.isNaN(value.getTime()) ? null : value.toISOString());
  }
  if (typeof value === 'number') return iso(fromEpoch(value));
  if (typeof value === 'bigint') return iso(fromEpoch(Number(value)));
  if (typeof value !== 'string') return iso(null);

  const text = value.trim();
  if (/^\d{9,14}$/.test(text)) return iso(fromEpoch(Number(text)));
  const fields = parseIsoLike(text) ?? parseWithMonthName(text);
  if (!fields) return iso(null);
  const rolledOver = !validFields(fields);

  // Month and day arithmetic that carries like Date.UTC: month 13 is January of the next year.
  const months = fields.year * 12 + (fields.month - 1);
  const year = Math.floor(months / 12);
  const month = months - year * 12 + 1;
  const wall =
    (daysFromCivil(year, month, 1) + fields.day - 1) * MS_PER_DAY +
    ((fields.hour * 60 + fields.minute) * 60 + fields.second) * 1000 +
    fields.ms;
  const utc =
    fields.offsetMinutes === null ? wallTimeToUtcMs(wall, timeZone) : wall - fields.offsetMinutes * 60_000;
  if (utc === null || !Number.isFinite(utc) || Math.abs(utc) > MAX_TIME) return iso(null);
  return { iso: new Date(utc).toISOString(), rolledOver };
}

/**
 * Epoch numbers: seconds when below 1e11 (until year 5138), else milliseconds. Small
 * numbers (a bare `2022`, a typo) are not treated as 1970 dates.
 */
function fromEpoch(n: number): string | null {
  if (!Number.isFinite(n) || n < 1e9 || n > MAX_TIME) return null;
  const ms = n < 1e11 ? n * 1000 : n;
  return new Date(Math.trunc(ms)).toISOString();
}

const ZONE = String.raw`(Z|z|UTC|GMT|UT|[+-]\d{1,2}(?::?\d{2})?)`;
const ISO_LIKE = new RegExp(
  String.raw`^([+-]\d{6}|\d{4})([-/.])(\d{1,2})\2(\d{1,2})` +
    String.raw`(?:(?:[Tt]|[ \t]+)(\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?(?:[ \t]*${ZONE})?)?$`,
);

function parseIsoLike(text: string): DateFields | null {
  const m = ISO_LIKE.exec(text);
  if (!m) return null;
  const [, y, , mo, d, h, mi, s, frac, zone] = m;
  const offset = zone ? parseZone(zone) : null;
  if (zone && offset === null) return null;
  return {
    year: Number(y),
    month: Number(mo),
    day: Number(d),
    hour: h ? Number(h) : 0,
    minute: mi ? Number(mi) : 0,
    second: s ? Number(s) : 0,
    ms: frac ? Number(frac.slice(0, 3).padEnd(3, '0')) : 0,
    offsetMinutes: offset,
  };
}

const NAMED_ZONES: Record<string, number> = {
  z: 0, ut: 0, utc: 0, gmt: 0,
  est: -300, edt: -240, cst: -360, cdt: -300, mst: -420, mdt: -360, pst: -480, pdt: -420,
};

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const MONTH_NAMES = ['january', 'february', 'march', 'april', 'may', 'june', 'july', 'august', 'september', 'october', 'november', 'december'];

function monthNumber(name: string): number | null {
  const n = name.toLowerCase().replace(/\.$/, '');
  if (n === 'sept') return 9;
  const i = n.length === 3 ? MONTHS.indexOf(n) : MONTH_NAMES.indexOf(n);
  return i < 0 ? null : i + 1;
}

const TIME = String.raw`(?:[ \t]+(\d{1,2}):(\d{2})(?::(\d{2}))?)?`;
const NAMED_ZONE = String.raw`(?:[ \t]*((?:GMT|UTC|UT)?[+-]\d{2}:?\d{2}|Z|UT|UTC|GMT|[ECMP][SD]T))?(?:[ \t]*\([^)]*\))?`;
const WEEKDAY = String.raw`(?:[A-Za-z]{3,9}\.?,?[ \t]+)?`;
/** `Wed, 02 Mar 2022 06:50:07 GMT` (RFC 2822), `2 March 2022`. */
const DAY_MONTH_YEAR = new RegExp(String.raw`^${WEEKDAY}(\d{1,2})[ \t]+([A-Za-z]{3,9}\.?),?[ \t]+(\d{4}|\d{2})${TIME}${NAMED_ZONE}$`);
/** `March 2, 2022`, `Mar 2nd 2022 10:00`, `Wed Mar 02 2022 14:50:07 GMT+0800 (…)`. */
const MONTH_DAY_YEAR = new RegExp(String.raw`^${WEEKDAY}([A-Za-z]{3,9}\.?)[ \t]+(\d{1,2})(?:st|nd|rd|th)?,?[ \t]+(\d{4})${TIME}${NAMED_ZONE}$`);

function parseWithMonthName(text: string): DateFields | null {
  let day: string | undefined, month: string | undefined, year: string | undefined;
  let rest: (string | undefined)[];
  const a = DAY_MONTH_YEAR.exec(text);
  const b = a ? null : MONTH_DAY_YEAR.exec(text);
  if (a) [, day, month, year, ...rest] = a;
  else if (b) [, month, day, year, ...rest] = b;
  else return null;
  const monthNo = month ? monthNumber(month) : null;
  if (!monthNo || !day || !year) return null;
  let y = Number(year);
  // RFC 2822 §4.3: two-digit years 00-49 are 20xx, 50-99 are 19xx.
  if (year.length === 2) y += y < 50 ? 2000 : 1900;
  const [h, mi, s, zone] = rest;
  const offset = zone ? parseZone(zone) : null;
  if (zone && offset === null) return null;
  return {
    year: y,
    month: monthNo,
    day: Number(day),
    hour: h ? Number(h) : 0,
    minute: mi ? Number(mi) : 0,
    second: s ? Number(s) : 0,
    ms: 0,
    offsetMinutes: offset,
  };
}

/** Minutes east of UTC, or null for a zone text that is not understood. */
function parseZone(zone: string): number | null {
  const named = NAMED_ZONES[zone.toLowerCase()];
  if (named !== undefined) return named;
  const m = /^(?:GMT|UTC|UT)?([+-])(\d{1,2})(?::?(\d{2}))?$/i.exec(zone);
  if (!m) return null;
  const hours = Number(m[2]);
  const minutes = m[3] ? Number(m[3]) : 0;
  if (hours > 23 || minutes > 59) return null;
  return (m[1] === '-' ? -1 : 1) * (hours * 60 + minutes);
}

function validFields(f: DateFields): boolean {
  return (
    f.month >= 1 && f.month <= 12 &&
    f.day >= 1 && f.day <= daysInMonth(f.year, f.month) &&
    f.hour <= 23 && f.minute <= 59 && f.second <= 59
  );
}

function isLeapYear(y: number): boolean {
  return y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
}

function daysInMonth(y: number, m: number): number {
  if (m === 2) return isLeapYear(y) ? 29 : 28;
  return [4, 6, 9, 11].includes(m) ? 30 : 31;
}

/**
 * Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm). Pure
 * arithmetic, so years 0-99 and extended years work, unlike Date.UTC.
 */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const mp = (month + 9) % 12;
  const doy = Math.floor((153 * mp + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146_097 + doe - 719_468;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    try {
      f = new Intl.DateTimeFormat('en-US', {
        timeZone,
        hourCycle: 'h23',
        era: 'short',
        year: 'numeric',
        month: 'numeric',
        day: 'numeric',
        hour: 'numeric',
        minute: 'numeric',
        second: 'numeric',
      });
    } catch {
      throw new RangeError(`unknown time zone "${timeZone}": use an IANA name such as "Asia/Shanghai"`);
    }
    formatters.set(timeZone, f);
  }
  return f;
}

function assertTimeZone(timeZone: string): void {
  formatter(timeZone);
}

function isUtc(timeZone: string): boolean {
  return timeZone === 'UTC' || timeZone === 'Etc/UTC' || timeZone === 'GMT';
}

/** Offset of `timeZone` from UTC at the instant `utcMs`, in milliseconds (east positive). */
export function timeZoneOffsetMs(timeZone: string, utcMs: number): number {
  if (isUtc(timeZone)) return 0;
  const clamped = Math.min(Math.max(utcMs, -MAX_TIME), MAX_TIME);
  const p: Record<string, string> = {};
  for (const part of formatter(timeZone).formatToParts(new Date(clamped))) p[part.type] = part.value;
  let year = Number(p.year);
  if (p.era === 'BC' || p.era === 'B') year = 1 - year;
  const wall =
    daysFromCivil(year, Number(p.month), Number(p.day)) * MS_PER_DAY +
    ((Number(p.hour) * 60 + Number(p.minute)) * 60 + Number(p.second)) * 1000;
  const wholeSeconds = clamped - (((clamped % 1000) + 1000) % 1000);
  return wall - wholeSeconds;
}

/**
 * The UTC instant of a wall-clock time in `timeZone` (`wallMs` is that wall time written
 * as if it were UTC). Like Temporal's `disambiguation: 'compatible'`: a time repeated when
 * clocks go back is the first (earlier) one; a time skipped when clocks go forward is
 * moved forward by the gap (02:30 on a spring-forward night becomes 03:30).
 */
export function wallTimeToUtcMs(wallMs: number, timeZone: string): number | null {
  if (!Number.isFinite(wallMs)) return null;
  if (isUtc(timeZone)) return wallMs;
  // Real zones change offset at most once within a day either side, so the offsets a
  // day before and a day after are the only candidates.
  const before = timeZoneOffsetMs(timeZone, wallMs - MS_PER_DAY);
  const after = timeZoneOffsetMs(timeZone, wallMs + MS_PER_DAY);
  const valid = [...new Set([before, after])]
    .map((offset) => wallMs - offset)
    .filter((t) => timeZoneOffsetMs(timeZone, t) === wallMs - t);
  if (valid.length > 0) return Math.min(...valid);
  return wallMs - before;
}
