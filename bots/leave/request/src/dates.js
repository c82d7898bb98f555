// The checks on a leave request's dates: real calendar days, `to` not
// before `from`, at least one day taken.

/** Milliseconds since the epoch of a `YYYY-MM-DD` day, or null if there is no such day. */
export function parseDay(text) {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text ?? '');
  if (!m) return null;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const ms = Date.UTC(y, mo - 1, d);
  const back = new Date(ms);
  return back.getUTCFullYear() === y && back.getUTCMonth() === mo - 1 && back.getUTCDate() === d ? ms : null;
}

/** What is wrong with a request's metadata, or null when nothing is. */
export function problemWith({ from, to, days }) {
  const start = parseDay(from);
  const end = parseDay(to);
  if (start === null) return `"from" (${from}) is not a day of the calendar`;
  if (end === null) return `"to" (${to}) is not a day of the calendar`;
  if (end < start) return `"to" (${to}) is before "from" (${from})`;
  if (days === 0) return 'the request takes 0 days';
  return null;
}
