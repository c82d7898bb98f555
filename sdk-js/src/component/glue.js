// The four exports of the world `bot`, over any raw host: bindings values
// in, the SDK's types to the bot, and results back in the shape the
// bindings take. Every failure, whatever was thrown (an Error included),
// is returned as {tag: 'err', val: message}: the bindings turn a thrown
// Error into a trap, so nothing may be thrown out of here.

import { Ctx } from '../ctx.js';
import { describeBot, invoke, invokeWithOutcome } from '../invoke.js';
import { errorMessage } from '../errors.js';
import { eventFromWit, reasonFromWit, ticketFromWit } from './convert.js';

function result(r) {
  return r.ok ? { tag: 'ok', val: r.value } : { tag: 'err', val: r.error };
}

/** Converts the arguments first: a value the SDK cannot represent fails the call, not the instance. */
function guarded(f) {
  try {
    return f();
  } catch (thrown) {
    return { tag: 'err', val: errorMessage(thrown) };
  }
}

/**
 * @param {Function} BotClass a subclass of Bot
 * @param {import('../ctx.js').Host} host
 * @param {string} toolchain
 */
export function makeExports(BotClass, host, toolchain) {
  return {
    describe() {
      // No result type here: a bad class traps, and Baton refuses the
      // file at load with the message.
      return describeBot(BotClass, toolchain);
    },
    proceedTicket(ticket, reason) {
      return guarded(() => {
        const r = invoke(BotClass, 'proceedTicket', [new Ctx(host), ticketFromWit(ticket), reasonFromWit(reason)]);
        return r.ok ? { tag: 'ok', val: undefined } : result(r);
      });
    },
    onEvent(ticket, event) {
      return guarded(() => result(invokeWithOutcome(BotClass, 'onEvent', [new Ctx(host), ticketFromWit(ticket), eventFromWit(event)])));
    },
    ticketTimeout(ticket) {
      return guarded(() => result(invokeWithOutcome(BotClass, 'ticketTimeout', [new Ctx(host), ticketFromWit(ticket)])));
    },
  };
}
