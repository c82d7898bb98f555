// The test host's answers to a bot's calls: the raw Host (see ctx.js) over
// the in-memory world, each call recorded first, then checked the way
// Baton checks it (unknown ticket: not-found; closed ticket or a move the
// transitions do not list: not-allowed; bad JSON: invalid).

import { HostError, HostErrorKind } from '../errors.js';
import { Settings } from '../people.js';
import { State, Status } from '../ticket.js';
import { addPerson, assignedUser, assignGroup, assignUser, checkKnown } from './people.js';

/** @implements {import('../ctx.js').Host} */
export class RecordingHost {
  /** @param {import('./index.js').TestHost} th */
  constructor(th) {
    this.th = th;
    this.world = th.world;
  }

  record(call) {
    this.th.recorded.push(call);
  }

  found(id) {
    if (!this.world.tickets.has(id)) throw new HostError(HostErrorKind.NOT_FOUND, `ticket ${id}`);
    return this.world.tickets.get(id);
  }

  open(id) {
    const t = this.found(id);
    if (t.status === Status.CLOSED) throw new HostError(HostErrorKind.NOT_ALLOWED, `ticket ${id} is closed`);
    return t;
  }

  moveTo(t, code) {
    const from = t.state.code;
    t.state = { code, name: this.th.stateName(code) };
    if (this.th.isTerminal(code)) t.status = Status.CLOSED;
    t.version += 1;
    this.world.moves.push({ id: t.id, from, to: code });
    this.world.waits.delete(t.id);
    return new State(code, t.state.name);
  }

  getTicket(id) {
    this.record({ call: 'getTicket', id });
    this.found(id);
    return this.world.ticket(id);
  }

  createTicket(ticketType, title, metadataJson) {
    const metadata = parse(metadataJson);
    this.record({ call: 'createTicket', ticketType, title, metadata });
    const id = this.th.addTicket(this.th.initialState(), title, metadata, { ticketType, parentId: this.th.current });
    return id;
  }

  sendTicket(id) {
    this.record({ call: 'sendTicket', id });
    const t = this.open(id);
    const next = this.th.transitionsFrom(t.state.code)[0];
    if (next === undefined) throw new HostError(HostErrorKind.NOT_ALLOWED, `state ${t.state.code} has no next state`);
    return this.moveTo(t, next);
  }

  sendTicketTo(id, code) {
    this.record({ call: 'sendTicketTo', id, code });
    const t = this.open(id);
    if (!this.th.transitionsFrom(t.state.code).includes(code)) {
      throw new HostError(HostErrorKind.NOT_ALLOWED, `no transition ${t.state.code} -> ${code}`);
    }
    return this.moveTo(t, code);
  }

  setMetadata(id, metadataJson) {
    const metadata = parse(metadataJson);
    this.record({ call: 'setMetadata', id, metadata });
    const t = this.open(id);
    t.metadataJson = JSON.stringify(metadata);
    t.version += 1;
  }

  log(id, message, dataJson) {
    const data = dataJson === null ? null : parse(dataJson);
    this.record({ call: 'log', id, message, data });
    this.found(id);
    this.world.logs.push({ id, message, data });
  }

  getCurrentTicketList() {
    this.record({ call: 'getCurrentTicketList' });
    return [...this.world.tickets.values()].filter((t) => t.status === Status.OPEN).map((t) => t.id);
  }

  addTicketToProceededList(id) {
    this.record({ call: 'addTicketToProceededList', id });
    this.open(id);
    this.world.proceeded.add(id);
  }

  reportError(id, message) {
    this.record({ call: 'reportError', id, message });
    this.found(id);
    const errorTicket = this.world.takeId();
    this.world.errorReports.push({ id, message, errorTicket });
    return errorTicket;
  }

  wait(id, millis) {
    this.waitFor(id, { millis });
  }

  waitUntilTime(id, time) {
    this.waitFor(id, { time });
  }

  waitUntilTicket(id, other) {
    this.waitFor(id, { ticket: other });
  }

  waitFor(id, until) {
    const name = 'millis' in until ? 'wait' : 'time' in until ? 'waitUntilTime' : 'waitUntilTicket';
    this.record({ call: name, id, ...until });
    this.open(id);
    this.world.waits.set(id, { id, until });
  }

  sendUserNotification(id, to, text) {
    this.record({ call: 'sendUserNotification', id, to, text });
    this.found(id);
    checkKnown(this.th.groups, to);
    this.world.notifications.push({ id, to: { kind: to.kind, userId: to.userId, group: to.group }, text });
  }

  sendBotNotification(id, bot, text) {
    this.record({ call: 'sendBotNotification', id, bot, text });
    this.found(id);
    this.world.botMessages.push({ id, bot, text });
  }

  getAssignedUser(id) {
    this.record({ call: 'getAssignedUser', id });
    this.found(id);
    return assignedUser(this.world, id);
  }

  setAssignedUser(id, userId) {
    this.record({ call: 'setAssignedUser', id, userId });
    this.open(id);
    assignUser(this.world, this.th.groups, id, userId);
  }

  addStakeholder(id, who, connection, role) {
    this.record({ call: 'addStakeholder', id, who, connection, role });
    this.open(id);
    addPerson(this.world, this.th.groups, id, who, connection, role);
  }

  requestAcceptance(id, group) {
    this.record({ call: 'requestAcceptance', id, group });
    this.open(id);
    assignGroup(this.world, this.th.groups, id, group);
  }

  getSettings() {
    return new Settings(this.th.settingsInForce);
  }

  getConfig() {
    return JSON.stringify(this.th.configTable);
  }
}

function parse(json) {
  try {
    return JSON.parse(json);
  } catch (e) {
    throw new HostError(HostErrorKind.INVALID, `not JSON: ${e.message}`);
  }
}
