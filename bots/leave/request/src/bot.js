// The leave metaservice's `request` bot. One class serves both
// non-terminal states and is deployed twice (package.json "baton.deploy"):
// - leave-request-1-open: checks the dates (open.js);
// - leave-request-2-with_manager: hands the request to the managers and
//   applies their decision (with_manager.js).
// Events nobody handles here, and timeouts, are left to Baton's defaults.

import { Bot, Outcome, ReasonKind } from '@baton/sdk';
import * as open from './open.js';
import * as withManager from './with_manager.js';
import { OPEN, WITH_MANAGER } from './states.js';

export class LeaveRequest extends Bot {
  static metaservice = 'leave';
  static ticketType = 'request';
  static states = [OPEN, WITH_MANAGER];

  proceedTicket(ctx, ticket, reason) {
    const fresh = reason.kind === ReasonKind.ENTERED || reason.kind === ReasonKind.SWEEP;
    if (!fresh) return; // reminders are sent by Baton; nothing else is waited for
    switch (ticket.state.code) {
      case OPEN: return open.proceed(ctx, ticket);
      case WITH_MANAGER: return withManager.proceed(ctx, ticket);
      default: throw unknownState(ticket.state.code);
    }
  }

  onEvent(ctx, ticket, event) {
    switch (ticket.state.code) {
      case OPEN: return Outcome.UNHANDLED;
      case WITH_MANAGER: return withManager.onEvent(ctx, ticket, event);
      default: throw unknownState(ticket.state.code);
    }
  }
}

function unknownState(code) {
  return new Error(`request has no state ${code} in this bot: the bot and the database do not match`);
}
