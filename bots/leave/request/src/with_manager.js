// State 2 `with_manager`: the request is assigned to the managers' group
// of the manifest's [config]; one of them accepts it and presses
// `approve` or `refuse` (with a reason). The requester hears the decision.

import { Outcome } from '@baton/sdk';
import { APPROVED, REFUSED } from './states.js';

/** The managers' group, from the metaservice's [config]. */
function managersGroup(ctx) {
  const { managers } = ctx.config();
  if (typeof managers !== 'string' || managers === '') {
    throw new Error('the leave manifest\'s [config] names no managers group (managers = "...")');
  }
  return managers;
}

export function proceed(ctx, ticket) {
  const group = managersGroup(ctx);
  ctx.requestAcceptance(ticket.id, group);
  ctx.log(ticket.id, `asked the ${group} group to accept the request`);
}

export function onEvent(ctx, ticket, event) {
  if (event.kind !== 'action') return Outcome.UNHANDLED;
  const { name, userId } = event.action;
  if (name === 'approve') {
    decide(ctx, ticket, APPROVED, { by: userId }, 'Your leave request was approved.');
    return Outcome.HANDLED;
  }
  if (name === 'refuse') {
    // The schema asks for a non-empty reason; blanks pass it, and a
    // requester deserves a real one. The Error's message is what Baton
    // stores as this invocation's error; nothing of it is committed.
    const reason = String(event.action.payload().reason ?? '').trim();
    if (reason === '') throw new Error('a refusal needs a reason');
    decide(ctx, ticket, REFUSED, { by: userId, reason }, `Your leave request was refused: ${reason}`);
    return Outcome.HANDLED;
  }
  return Outcome.UNHANDLED;
}

function decide(ctx, ticket, code, decision, message) {
  ctx.setMetadata(ticket.id, { ...ticket.metadata(), decision });
  const state = ctx.sendTicketTo(ticket.id, code);
  ctx.log(ticket.id, `${state.name} by user ${decision.by}`, decision);
  if (ticket.createdBy !== null) ctx.notifyUser(ticket.id, ticket.createdBy, message);
}
