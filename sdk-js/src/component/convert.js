// Values between the component's bindings and the SDK's types. The
// bindings (componentize-js) give records with camelCase fields, variants
// as {tag, val}, enums as strings, options as undefined, u64/s64 as BigInt.

import { HostError } from '../errors.js';
import { Action, BotMessage, Comment, Event, EventKind } from '../event.js';
import { fromHostInt, fromHostOptInt } from '../ids.js';
import { Settings } from '../people.js';
import { Reason, ReasonKind, State, Ticket } from '../ticket.js';

/** A WIT `state`. */
export function stateFromWit(s) {
  return new State(s.code, s.name);
}

/** A WIT `ticket`. */
export function ticketFromWit(t) {
  const id = fromHostInt(t.id, 'ticket id');
  return new Ticket({
    id,
    metaservice: t.metaservice,
    ticketType: t.ticketType,
    title: t.title,
    state: stateFromWit(t.state),
    status: t.status,
    metadataJson: t.metadata,
    parentId: fromHostOptInt(t.parentId, 'parent id'),
    createdBy: fromHostOptInt(t.createdBy, 'user id'),
    createdAt: fromHostInt(t.createdAt, 'created-at'),
    updatedAt: fromHostInt(t.updatedAt, 'updated-at'),
    version: fromHostInt(t.version, 'version'),
  });
}

/** A WIT `reason`. */
export function reasonFromWit(r) {
  switch (r.tag) {
    case ReasonKind.TICKET_CLOSED: return Reason.ticketClosed(fromHostInt(r.val, 'ticket id'));
    case ReasonKind.TICKET_GONE: return Reason.ticketGone(fromHostInt(r.val, 'ticket id'));
    case ReasonKind.REMINDER: return Reason.reminder(r.val);
    default: return new Reason(r.tag);
  }
}

/** A WIT `event`. */
export function eventFromWit(e) {
  switch (e.tag) {
    case EventKind.ACTION:
      return new Event(e.tag, { action: new Action(e.val.name, e.val.payload, fromHostInt(e.val.userId, 'user id')) });
    case EventKind.COMMENT:
      return new Event(e.tag, {
        comment: new Comment(fromHostInt(e.val.id, 'comment id'), e.val.body, fromHostInt(e.val.userId, 'user id')),
      });
    case EventKind.ACCEPTED:
      return new Event(e.tag, { userId: fromHostInt(e.val, 'user id') });
    case EventKind.NOTIFICATION:
      return new Event(e.tag, { notification: new BotMessage(e.val.sender, e.val.text) });
    default:
      throw new Error(`unknown event ${String(e.tag)} from the host`);
  }
}

/** A WIT `type-settings`. */
export function settingsFromWit(s) {
  return new Settings({
    lifetimeMs: fromHostOptInt(s.lifetimeMs, 'lifetime-ms'),
    notifyEveryMs: fromHostOptInt(s.notifyEveryMs, 'notify-every-ms'),
    notifyRepeats: s.notifyRepeats,
    retentionMs: fromHostOptInt(s.retentionMs, 'retention-ms'),
  });
}

/** A Principal as the WIT `principal` variant. */
export function principalToWit(p) {
  return p.kind === 'user' ? { tag: 'user', val: BigInt(p.userId) } : { tag: 'group', val: p.group };
}

/**
 * What an import threw, as the SDK's error: the bindings throw an Error
 * whose `payload` is the WIT `error` variant ({tag: 'not-found', val}).
 */
export function hostErrorFromWit(thrown) {
  const payload = thrown && typeof thrown === 'object' ? thrown.payload : undefined;
  if (payload && typeof payload === 'object' && typeof payload.tag === 'string') {
    return new HostError(payload.tag, String(payload.val));
  }
  return thrown;
}
