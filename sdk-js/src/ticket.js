// Tickets, states, statuses and the reasons proceedTicket runs, as a bot
// sees them. Ids and times are Numbers (see ids.js).

import { parseJson } from './json.js';

/** A business state of a ticket type, e.g. `1 open`. */
export class State {
  /** @param {number} code @param {string} name */
  constructor(code, name) {
    /** @type {number} */
    this.code = code;
    /** @type {string} */
    this.name = name;
  }
}

/** Open until the ticket reaches a terminal state. */
export const Status = Object.freeze({ OPEN: 'open', CLOSED: 'closed' });

/** A ticket, including the pending changes of the current invocation. */
export class Ticket {
  /**
   * @param {object} f
   * @param {number} f.id
   * @param {string} f.metaservice
   * @param {string} f.ticketType
   * @param {string} f.title
   * @param {State} f.state
   * @param {'open'|'closed'} f.status one of {@link Status}
   * @param {string} f.metadataJson the metadata as a JSON document
   * @param {number|null} [f.parentId]
   * @param {number|null} [f.createdBy] the user who created it, if a person did
   * @param {number} f.createdAt milliseconds since the Unix epoch
   * @param {number} f.updatedAt
   * @param {number} f.version bumped by every committed change
   */
  constructor(f) {
    this.id = f.id;
    this.metaservice = f.metaservice;
    this.ticketType = f.ticketType;
    this.title = f.title;
    this.state = f.state;
    this.status = f.status;
    this.metadataJson = f.metadataJson;
    this.parentId = f.parentId ?? null;
    this.createdBy = f.createdBy ?? null;
    this.createdAt = f.createdAt;
    this.updatedAt = f.updatedAt;
    this.version = f.version;
  }

  /**
   * The metadata, parsed from its JSON document. Name its shape for your
   * editor with JSDoc: `/** @type {Request} *\/ const r = ticket.metadata();`.
   * @template [T=any]
   * @returns {T}
   */
  metadata() {
    return parseJson(this.metadataJson, `the metadata of ticket ${this.id}`);
  }
}

/** Why proceedTicket runs: the WIT `reason` variant's cases. */
export const ReasonKind = Object.freeze({
  /** The ticket has just entered the state, or was created in it. */
  ENTERED: 'entered',
  /** A sweep found the ticket in the state but not yet processed. */
  SWEEP: 'sweep',
  /** A ctx.wait or ctx.waitUntilTime ended. */
  WAIT_ENDED: 'wait-ended',
  /** The ticket a ctx.waitUntilTicket waited for closed (`reason.ticketId`). */
  TICKET_CLOSED: 'ticket-closed',
  /** The ticket a ctx.waitUntilTicket waited for is gone (`reason.ticketId`). */
  TICKET_GONE: 'ticket-gone',
  /** Reminder number `reason.number` (from 1) just went out; a bot may escalate. */
  REMINDER: 'reminder',
});

/** Why proceedTicket runs; `kind` is one of {@link ReasonKind}. */
export class Reason {
  /** @param {string} kind @param {{ticketId?: number, number?: number}} [data] */
  constructor(kind, data = {}) {
    /** @type {string} */
    this.kind = kind;
    /** @type {number|null} the other ticket, for ticket-closed and ticket-gone */
    this.ticketId = data.ticketId ?? null;
    /** @type {number|null} the reminder's number, for reminder */
    this.number = data.number ?? null;
  }

  static entered() { return new Reason(ReasonKind.ENTERED); }
  static sweep() { return new Reason(ReasonKind.SWEEP); }
  static waitEnded() { return new Reason(ReasonKind.WAIT_ENDED); }
  /** @param {number} ticketId */
  static ticketClosed(ticketId) { return new Reason(ReasonKind.TICKET_CLOSED, { ticketId }); }
  /** @param {number} ticketId */
  static ticketGone(ticketId) { return new Reason(ReasonKind.TICKET_GONE, { ticketId }); }
  /** @param {number} number */
  static reminder(number) { return new Reason(ReasonKind.REMINDER, { number }); }

  /** For log lines: `entered`, `ticket-closed(7)`, `reminder(2)`. */
  toString() {
    if (this.ticketId !== null) return `${this.kind}(${this.ticketId})`;
    if (this.number !== null) return `${this.kind}(${this.number})`;
    return this.kind;
  }
}
