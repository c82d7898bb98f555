// Bot: the class a bot author extends, and the Outcome of the calls for
// which Baton has a default (events, timeouts).

/**
 * What a bot did with an event or a timeout. Whatever it asked for is
 * committed either way; UNHANDLED adds Baton's default in the same commit.
 */
export const Outcome = Object.freeze({
  /** The bot dealt with it; Baton adds nothing. */
  HANDLED: 'handled',
  /** Baton applies its default (logs an unhandled event; on a timeout, tells the creator, files an error ticket). */
  UNHANDLED: 'unhandled',
});

/**
 * A bot serves the tickets of one ticket type while they are in one of its
 * `states`. Extend it, set the three static fields, implement
 * `proceedTicket`. Every invocation runs on a fresh instance (inside Baton,
 * a fresh Wasm instance too): keep what must last in the ticket's metadata.
 * The methods are synchronous: the host calls are, and a Promise returned
 * from one fails the invocation.
 */
export class Bot {
  /** @type {string} the metaservice, as its manifest names it */
  static metaservice = '';
  /** @type {string} the ticket type it serves */
  static ticketType = '';
  /** @type {number[]} the state codes it serves; it is deployed once per state */
  static states = [];

  /**
   * The main step: the ticket entered the state, a sweep found it, a wait
   * ended, a reminder went out. Throwing discards every change asked for;
   * Baton retries later and files an error ticket if it keeps failing.
   * @param {import('./ctx.js').Ctx} ctx
   * @param {import('./ticket.js').Ticket} ticket
   * @param {import('./ticket.js').Reason} reason
   * @returns {void}
   */
  proceedTicket(ctx, ticket, reason) {
    throw new Error(`${this.constructor.name} does not implement proceedTicket`);
  }

  /**
   * Something happened to the ticket in the bot's state. The default leaves
   * it to Baton, which logs that the event is not handled in this state.
   * @param {import('./ctx.js').Ctx} ctx
   * @param {import('./ticket.js').Ticket} ticket
   * @param {import('./event.js').Event} event
   * @returns {'handled'|'unhandled'} one of {@link Outcome}
   */
  onEvent(ctx, ticket, event) {
    return Outcome.UNHANDLED;
  }

  /**
   * The ticket outlived its state's lifetime. The default leaves it to
   * Baton: the creator hears the ticket is out of service, an error ticket
   * is filed, and it is logged.
   * @param {import('./ctx.js').Ctx} ctx
   * @param {import('./ticket.js').Ticket} ticket
   * @returns {'handled'|'unhandled'} one of {@link Outcome}
   */
  ticketTimeout(ctx, ticket) {
    return Outcome.UNHANDLED;
  }
}
