// The test host's committed world: tickets, log lines, moves, notifications,
// stakeholders and waits, as plain data, so that a failed invocation can be
// rolled back to a snapshot (the record of calls is kept apart from it).

import { State, Status, Ticket } from '../ticket.js';

export class World {
  constructor() {
    /** @type {Map<number, object>} id -> plain ticket fields */
    this.tickets = new Map();
    /** @type {{id: number, message: string, data: unknown}[]} */
    this.logs = [];
    /** @type {{id: number, from: number, to: number}[]} */
    this.moves = [];
    /** @type {{id: number, to: {kind: string, userId: number|null, group: string|null}, text: string}[]} */
    this.notifications = [];
    /** @type {{id: number, bot: string, text: string}[]} */
    this.botMessages = [];
    /** @type {{id: number, message: string, errorTicket: number}[]} */
    this.errorReports = [];
    /** @type {Map<number, {id: number, until: object}>} the last wait asked for, per ticket */
    this.waits = new Map();
    /** @type {Map<number, object[]>} id -> stakeholder rows, oldest first */
    this.people = new Map();
    /** @type {Set<number>} */
    this.proceeded = new Set();
    this.nextId = 1;
  }

  snapshot() {
    return structuredClone(this);
  }

  /** Puts back what `snapshot()` returned. */
  restore(saved) {
    Object.assign(this, structuredClone(saved));
  }

  /** A new id from the one sequence tickets and error tickets share. */
  takeId() {
    return this.nextId++;
  }

  /** Ticket `id` as the SDK's Ticket, or undefined. */
  ticket(id) {
    const t = this.tickets.get(id);
    if (!t) return undefined;
    return new Ticket({ ...t, state: new State(t.state.code, t.state.name) });
  }

  isOpen(id) {
    return this.tickets.get(id)?.status === Status.OPEN;
  }
}
