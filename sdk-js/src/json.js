// JSON in and out of the host: parsing with a message that says what was
// being read, and serializing what a bot hands over (BigInts included).

/** Parses `text`, failing with `bad JSON in <what>: …`. */
export function parseJson(text, what) {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new Error(`bad JSON in ${what}: ${e.message}`);
  }
}

/** Serializes a bot's value to JSON; BigInts become numbers when exact. */
export function toJson(value, what) {
  let text;
  try {
    text = JSON.stringify(value, (_, v) => (typeof v === 'bigint' ? bigintToJson(v) : v));
  } catch (e) {
    throw new Error(`${what} cannot be serialized to JSON: ${e.message}`);
  }
  if (text === undefined) throw new TypeError(`${what} cannot be serialized to JSON: ${String(value)}`);
  return text;
}

function bigintToJson(v) {
  const n = Number(v);
  if (BigInt(n) !== v) throw new RangeError(`${v} does not fit a JSON number exactly`);
  return n;
}
