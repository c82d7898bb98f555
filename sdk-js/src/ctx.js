// Ctx: the calls a bot makes during one invocation, one method per import
// of the WIT world, with checked arguments and JSON (de)serialized. Below
// it is a raw host: the component's imports inside Baton (component/host.js)
// or the TestHost in unit tests (testing/). Refusals arrive as HostError.

import { checkS64, checkString, checkU32, checkU64 } from './ids.js';
import { parseJson, toJson } from './json.js';
import { Connection, Principal, Role } from './people.js';

/**
 * The raw calls, named after the WIT imports, in the SDK's types (Numbers
 * for ids, Principal, Settings); each throws HostError on a refusal.
 * @typedef {object} Host
 * @property {(id: number) => import('./ticket.js').Ticket} getTicket
 * @property {(ticketType: string, title: string, metadataJson: string) => number} createTicket
 * @property {(id: number) => import('./ticket.js').State} sendTicket
 * @property {(id: number, code: number) => import('./ticket.js').State} sendTicketTo
 * @property {(id: number, metadataJson: string) => void} setMetadata
 * @property {(id: number, message: string, dataJson: string|null) => void} log
 * @property {() => number[]} getCurrentTicketList
 * @property {(id: number) => void} addTicketToProceededList
 * @property {(id: number, message: string) => number} reportError
 * @property {(id: number, millis: number) => void} wait
 * @property {(id: number, time: number) => void} waitUntilTime
 * @property {(id: number, other: number) => void} waitUntilTicket
 * @property {(id: number, to: Principal, text: string) => void} sendUserNotification
 * @property {(id: number, bot: string, text: string) => void} sendBotNotification
 * @property {(id: number) => number|null} getAssignedUser
 * @property {(id: number, userId: number) => void} setAssignedUser
 * @property {(id: number, who: Principal, connection: string, role: string) => void} addStakeholder
 * @property {(id: number, group: string) => void} requestAcceptance
 * @property {() => import('./people.js').Settings} getSettings
 * @property {() => string} getConfig
 */

const CONNECTIONS = new Set(Object.values(Connection));
const ROLES = new Set(Object.values(Role));

/** What a bot can do during one invocation. */
export class Ctx {
  /** @param {Host} host */
  constructor(host) {
    this.host = host;
  }

  /** A ticket of the bot's metaservice, with this invocation's pending changes applied. */
  getTicket(id) {
    return this.host.getTicket(checkU64(id, 'ticket id'));
  }

  /**
   * Creates a child of the current ticket, of any ticket type of the same
   * metaservice; `metadata` (an object) must satisfy that type's schema.
   * @returns {number} the new ticket's id
   */
  createTicket(ticketType, title, metadata) {
    return this.host.createTicket(
      checkString(ticketType, 'ticket type'),
      checkString(title, 'title'),
      toJson(metadata, 'the metadata'),
    );
  }

  /** Moves the ticket to the normal next state of its current one. */
  sendTicket(id) {
    return this.host.sendTicket(checkU64(id, 'ticket id'));
  }

  /** Moves the ticket to one of the alternative states allowed from its current one. */
  sendTicketTo(id, code) {
    return this.host.sendTicketTo(checkU64(id, 'ticket id'), checkU32(code, 'state code'));
  }

  /** Replaces the ticket's metadata (an object). */
  setMetadata(id, metadata) {
    this.host.setMetadata(checkU64(id, 'ticket id'), toJson(metadata, 'the metadata'));
  }

  /** Writes a line to the ticket's log, signed with the bot's name; `data` is optional, any JSON value. */
  log(id, message, data = undefined) {
    const json = data === undefined ? null : toJson(data, 'the log data');
    this.host.log(checkU64(id, 'ticket id'), checkString(message, 'log message'), json);
  }

  /** The open tickets in this bot's state, oldest first (at most 1000). */
  currentTickets() {
    return this.host.getCurrentTicketList();
  }

  /** Marks a ticket in this bot's state as processed, so sweeps leave it alone. */
  addToProceededList(id) {
    this.host.addTicketToProceededList(checkU64(id, 'ticket id'));
  }

  /** Files a `baton.error` ticket about this ticket for the error group; returns its id. */
  reportError(id, message) {
    return this.host.reportError(checkU64(id, 'ticket id'), checkString(message, 'message'));
  }

  /** Resumes the ticket after `millis` with reason `wait-ended`, durably. Call it last. */
  wait(id, millis) {
    this.host.wait(checkU64(id, 'ticket id'), checkU64(millis, 'millis'));
  }

  /** Resumes the ticket at `time` (milliseconds since the Unix epoch). */
  waitUntilTime(id, time) {
    this.host.waitUntilTime(checkU64(id, 'ticket id'), checkS64(time, 'time'));
  }

  /** Resumes the ticket when `other` closes (reason `ticket-closed`). */
  waitUntilTicket(id, other) {
    this.host.waitUntilTicket(checkU64(id, 'ticket id'), checkU64(other, 'other ticket id'));
  }

  /** A notification about the ticket for a user, or each member of a group ({@link Principal}). */
  notify(id, to, text) {
    this.host.sendUserNotification(checkU64(id, 'ticket id'), checkPrincipal(to), checkString(text, 'text'));
  }

  /** A notification about the ticket for one user. */
  notifyUser(id, userId, text) {
    this.notify(id, Principal.user(checkU64(userId, 'user id')), text);
  }

  /** Tells another bot (by name) something about the ticket; it hears it as an `notification` event. */
  notifyBot(id, bot, text) {
    this.host.sendBotNotification(checkU64(id, 'ticket id'), checkString(bot, 'bot'), checkString(text, 'text'));
  }

  /** The user the ticket is assigned to, or null: nobody until a member of its group accepts it. */
  assignedUser(id) {
    return this.host.getAssignedUser(checkU64(id, 'ticket id'));
  }

  /** Assigns the ticket to a member of its assigned group. */
  assignUser(id, userId) {
    this.host.setAssignedUser(checkU64(id, 'ticket id'), checkU64(userId, 'user id'));
  }

  /** Adds a user or group (which must exist) as a stakeholder. */
  addStakeholder(id, who, connection, role) {
    if (!CONNECTIONS.has(connection)) throw new TypeError(`connection must be one of ${[...CONNECTIONS].join(', ')}, not ${String(connection)}`);
    if (!ROLES.has(role)) throw new TypeError(`role must be one of ${[...ROLES].join(', ')}, not ${String(role)}`);
    this.host.addStakeholder(checkU64(id, 'ticket id'), checkPrincipal(who), connection, role);
  }

  /** Assigns the ticket to `group` and asks each member to accept it (then an `accepted` event). */
  requestAcceptance(id, group) {
    this.host.requestAcceptance(checkU64(id, 'ticket id'), checkString(group, 'group'));
  }

  /** The ticket type's settings in force in this bot's state. */
  settings() {
    return this.host.getSettings();
  }

  /** The metaservice manifest's `[config]` table, parsed (`{}` when it has none). */
  config() {
    return parseJson(this.host.getConfig(), "the metaservice's [config]");
  }
}

function checkPrincipal(who) {
  if (who instanceof Principal) {
    if (who.kind === 'user') return Principal.user(checkU64(who.userId, 'user id'));
    if (who.kind === 'group') return Principal.group(checkString(who.group, 'group'));
  }
  throw new TypeError(`expected a Principal (Principal.user(id) or Principal.group(name)), not ${String(who)}`);
}
