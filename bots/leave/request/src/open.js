// State 1 `open`: check the dates; a valid request goes on to the
// managers, a wrong one is refused with the reason in the log.

import { REFUSED } from './states.js';
import { problemWith } from './dates.js';

export function proceed(ctx, ticket) {
  const request = ticket.metadata();
  const problem = problemWith(request);
  if (problem !== null) {
    ctx.log(ticket.id, `refused: ${problem}`, { from: request.from, to: request.to, days: request.days });
    ctx.sendTicketTo(ticket.id, REFUSED);
    if (ticket.createdBy !== null) {
      ctx.notifyUser(ticket.id, ticket.createdBy, `Your leave request was refused: ${problem}.`);
    }
    return;
  }
  ctx.log(ticket.id, `${request.days} day(s) from ${request.from} to ${request.to}: passed to the managers`);
  ctx.sendTicket(ticket.id);
}
