// Numbers across the boundary: the WIT's u64 ids and s64 timestamps.
//
// The component hands u64 and s64 values to JavaScript as BigInt. The SDK
// presents them to bots as plain Numbers (ticket ids, user ids, versions,
// milliseconds), so that they compare with `===` against literals, go
// through JSON.stringify and index objects. Ids are database sequence
// numbers and timestamps are milliseconds since 1970, far below 2^53, so
// nothing is lost; a value that would lose precision is refused loudly
// (a RangeError, which fails the invocation) rather than rounded.
// Going back to the host, a bot may pass a Number or a BigInt.

/** A BigInt (or Number) from the host, as a Number, exactly. */
export function fromHostInt(value, what) {
  if (typeof value === 'number') {
    if (Number.isSafeInteger(value)) return value;
  } else if (typeof value === 'bigint') {
    const n = Number(value);
    if (Number.isSafeInteger(n) && BigInt(n) === value) return n;
  }
  throw new RangeError(`${what} ${String(value)} does not fit a JavaScript number exactly`);
}

/** An optional host value: `undefined` (none) becomes `null`. */
export function fromHostOptInt(value, what) {
  return value === undefined || value === null ? null : fromHostInt(value, what);
}

/**
 * Checks a u64 a bot passes (an id, a number of milliseconds) and returns
 * it as a Number; a TypeError names the argument when it is not one.
 */
export function checkU64(value, what) {
  if (typeof value === 'bigint') {
    if (value >= 0n && value <= 0xffff_ffff_ffff_ffffn) return fromHostInt(value, what);
  } else if (Number.isSafeInteger(value) && value >= 0) {
    return value;
  }
  throw new TypeError(`${what} must be a non-negative integer, not ${describeValue(value)}`);
}

/** Checks an s64 a bot passes (a timestamp) and returns it as a Number. */
export function checkS64(value, what) {
  if (typeof value === 'bigint') return fromHostInt(value, what);
  if (Number.isSafeInteger(value)) return value;
  throw new TypeError(`${what} must be an integer, not ${describeValue(value)}`);
}

/** Checks a u32 (a state code, a reminder number). */
export function checkU32(value, what) {
  if (Number.isInteger(value) && value >= 0 && value <= 0xffff_ffff) return value;
  throw new TypeError(`${what} must be an integer from 0 to 2^32-1, not ${describeValue(value)}`);
}

/** Checks a string argument. */
export function checkString(value, what) {
  if (typeof value === 'string') return value;
  throw new TypeError(`${what} must be a string, not ${describeValue(value)}`);
}

function describeValue(value) {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'bigint') return `${value}n`;
  return String(value);
}
