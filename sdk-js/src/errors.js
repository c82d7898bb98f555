// Errors: the host's refusals (HostError) and how anything a bot throws
// becomes the invocation's error message.

/** Why the host refused a call: the WIT `error` variant's cases. */
export const HostErrorKind = Object.freeze({
  /** The ticket, type or state does not exist (for this bot). */
  NOT_FOUND: 'not-found',
  /** Not allowed: a transition not listed for the state, a ticket of another metaservice, a closed ticket. */
  NOT_ALLOWED: 'not-allowed',
  /** Malformed arguments, e.g. metadata that fails the type's schema. */
  INVALID: 'invalid',
  /** A per-invocation limit or a quota was reached. */
  LIMIT_EXCEEDED: 'limit-exceeded',
});

const KIND_WORDS = {
  'not-found': 'not found',
  'not-allowed': 'not allowed',
  invalid: 'invalid',
  'limit-exceeded': 'limit exceeded',
};

/**
 * A refusal from the host. A bot may catch it (e.g. to try an
 * alternative) or let it escape, which fails the invocation with
 * `host refused: <kind>: <detail>`.
 */
export class HostError extends Error {
  /**
   * @param {string} kind one of {@link HostErrorKind}
   * @param {string} detail the host's own words
   */
  constructor(kind, detail) {
    super(`${KIND_WORDS[kind] ?? kind}: ${detail}`);
    this.name = 'HostError';
    /** @type {string} one of {@link HostErrorKind} */
    this.kind = kind;
    /** @type {string} */
    this.detail = detail;
  }
}

/**
 * The error message for anything thrown out of a bot, as Baton stores it
 * (the event, the error ticket, `/api/v1/bots` `last_error`):
 * - a HostError: `host refused: not found: ticket 7`;
 * - an Error: its message (`TypeError: …` for the built-in subclasses,
 *   which are bugs rather than the bot's own words);
 * - a string: itself; anything else: its String() or JSON form.
 * @param {unknown} thrown
 * @returns {string}
 */
export function errorMessage(thrown) {
  if (thrown instanceof HostError) return `host refused: ${thrown.message}`;
  if (thrown instanceof Error) {
    const builtin = thrown.constructor !== Error && BUILTIN_ERRORS.has(thrown.constructor);
    const message = String(thrown.message ?? '');
    if (builtin) return `${thrown.name}: ${message}`;
    return message === '' ? String(thrown.name || 'Error') : message;
  }
  if (typeof thrown === 'string') return thrown;
  if (thrown === undefined || thrown === null || typeof thrown !== 'object') {
    return `the bot threw ${String(thrown)}`;
  }
  try {
    return `the bot threw ${JSON.stringify(thrown, (_, v) => (typeof v === 'bigint' ? v.toString() : v))}`;
  } catch {
    return `the bot threw ${Object.prototype.toString.call(thrown)}`;
  }
}

const BUILTIN_ERRORS = new Set([TypeError, RangeError, ReferenceError, SyntaxError, EvalError, URIError]);
