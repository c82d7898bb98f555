// @baton/sdk/testing: a native host for unit-testing bots with `node --test`,
// no Wasm build. TestHost keeps tickets in memory, follows the transitions
// you give it the way Baton does (normal next state first, alternatives by
// code, anything else refused), runs a bot the way the component does
// (a fresh instance, anything thrown becomes the error message), and
// records every call. Like Baton, it discards a failed invocation's
// changes; the record of calls stays, so a test can see what was tried.
//
//   const host = new TestHost('demo', 'request').state(1, 'open').terminal(2, 'done').transitions([[1, 2]]);
//   const id = host.addTicket(1, 'a request', {});
//   host.proceed(Open, id);
//   assert.equal(host.ticket(id).state.code, 2);

import { describeBot, invoke, invokeWithOutcome } from '../invoke.js';
import { Ctx } from '../ctx.js';
import { Principal, Settings } from '../people.js';
import { Reason, Status } from '../ticket.js';
import { toolchain } from '../version.js';
import { RecordingHost } from './host.js';
import { assignedUser } from './people.js';
import { World } from './world.js';

/** A failed invocation: `message` is exactly what Baton would store; `cause` is what the bot threw. */
export class InvocationError extends Error {
  constructor(message, cause) {
    super(message, { cause });
    this.name = 'InvocationError';
  }
}

export class TestHost {
  /** A host for tickets of `ticketType` in `metaservice`. */
  constructor(metaservice, ticketType) {
    this.metaservice = metaservice;
    this.defaultType = ticketType;
    /** @type {Map<number, {name: string, terminal: boolean}>} */
    this.states = new Map();
    /** @type {Map<number, number[]>} */
    this.transitionTable = new Map();
    /** @type {Map<string, number[]>} */
    this.groups = new Map();
    this.settingsInForce = new Settings();
    this.configTable = {};
    this.world = new World();
    this.recorded = [];
    /** The ticket the running invocation is for (the parent of tickets it creates). */
    this.current = null;
  }

  // --- Declaring the metaservice (each returns the host, to chain) ---

  /** Declares a non-terminal state. */
  state(code, name) {
    this.states.set(code, { name, terminal: false });
    return this;
  }

  /** Declares a terminal state: entering it closes the ticket. */
  terminal(code, name) {
    this.states.set(code, { name, terminal: true });
    return this;
  }

  /** Transitions in the manifest's notation: `[[1, 2, 4], [2, 3, 4]]`. */
  transitions(rows) {
    for (const [from, ...to] of rows) this.transitionTable.set(from, to);
    return this;
  }

  /** Declares a group and its members (user ids). */
  group(name, members) {
    this.groups.set(name, [...members]);
    return this;
  }

  /** The settings `ctx.settings()` returns: {lifetimeMs, notifyEveryMs, notifyRepeats, retentionMs}. */
  settings(fields) {
    this.settingsInForce = new Settings(fields);
    return this;
  }

  /** The metaservice `[config]` that `ctx.config()` reads. */
  config(table) {
    this.configTable = structuredClone(table);
    return this;
  }

  // --- Tickets ---

  /**
   * Adds a ticket in state `code`; returns its id.
   * @param {{createdBy?: number, parentId?: number, ticketType?: string}} [options]
   */
  addTicket(code, title, metadata = {}, options = {}) {
    const id = this.world.takeId();
    this.world.tickets.set(id, {
      id,
      metaservice: this.metaservice,
      ticketType: options.ticketType ?? this.defaultType,
      title,
      state: { code, name: this.stateName(code) },
      status: this.isTerminal(code) ? Status.CLOSED : Status.OPEN,
      metadataJson: JSON.stringify(metadata),
      parentId: options.parentId ?? null,
      createdBy: options.createdBy ?? null,
      createdAt: 0,
      updatedAt: 0,
      version: 1,
    });
    return id;
  }

  /** Sets who created ticket `id`. */
  setCreator(id, userId) {
    this.plain(id).createdBy = userId;
  }

  // --- Running a bot ---

  /** Runs `proceedTicket` for ticket `id`; throws InvocationError if the bot failed. */
  proceed(BotClass, id, reason = Reason.entered()) {
    this.run(BotClass, id, (ctx, ticket) => invoke(BotClass, 'proceedTicket', [ctx, ticket, reason]));
  }

  /** Runs `onEvent`; returns its Outcome (with UNHANDLED, Baton would add its default: the test host does not). */
  event(BotClass, id, event) {
    return this.run(BotClass, id, (ctx, ticket) => invokeWithOutcome(BotClass, 'onEvent', [ctx, ticket, event]));
  }

  /** Runs `ticketTimeout`; returns its Outcome. */
  timeout(BotClass, id) {
    return this.run(BotClass, id, (ctx, ticket) => invokeWithOutcome(BotClass, 'ticketTimeout', [ctx, ticket]));
  }

  run(BotClass, id, call) {
    const info = describeBot(BotClass, toolchain());
    const ticket = this.ticket(id);
    if (info.metaservice !== this.metaservice || info.ticketType !== ticket.ticketType) {
      throw new Error(`${BotClass.name} serves ${info.metaservice}/${info.ticketType}, not ${this.metaservice}/${ticket.ticketType}`);
    }
    if (!info.states.includes(ticket.state.code)) {
      throw new Error(`ticket ${id} is in state ${ticket.state.code}, which ${BotClass.name} does not serve (${info.states})`);
    }
    const before = this.world.snapshot();
    this.current = id;
    let result;
    try {
      result = call(new Ctx(new RecordingHost(this)), ticket);
    } finally {
      this.current = null;
    }
    if (!result.ok) {
      // Baton commits nothing of a failed invocation; the calls stay recorded.
      this.world.restore(before);
      throw new InvocationError(result.error, result.thrown);
    }
    return result.value;
  }

  // --- Inspecting ---

  /** The ticket as it is now. Throws if there is none: this is test code. */
  ticket(id) {
    const t = this.world.ticket(id);
    if (!t) throw new Error(`no ticket ${id} in the test host`);
    return t;
  }

  /** Every call made so far, in order, e.g. `{call: 'sendTicketTo', id: 1, code: 4}`. */
  calls() {
    return this.recorded.map((c) => ({ ...c }));
  }

  /** Forgets the calls recorded so far. */
  clearCalls() {
    this.recorded = [];
  }

  /** The log lines committed for ticket `id` (messages only). */
  logs(id) {
    return this.world.logs.filter((l) => l.id === id).map((l) => l.message);
  }

  /** The log lines committed for ticket `id`, with their data. */
  logEntries(id) {
    return this.world.logs.filter((l) => l.id === id).map(({ message, data }) => ({ message, data }));
  }

  /** The committed moves of ticket `id`: `[{from: 1, to: 2}]`. */
  moves(id) {
    return this.world.moves.filter((m) => m.id === id).map(({ from, to }) => ({ from, to }));
  }

  /** The committed notifications to people (of ticket `id`, or all): `[{id, to: Principal, text}]`. */
  notifications(id = undefined) {
    return this.world.notifications
      .filter((n) => id === undefined || n.id === id)
      .map((n) => ({ id: n.id, to: n.to.kind === 'user' ? Principal.user(n.to.userId) : Principal.group(n.to.group), text: n.text }));
  }

  /** The committed messages to other bots: `[{id, bot, text}]`. */
  botMessages(id = undefined) {
    return this.world.botMessages.filter((m) => id === undefined || m.id === id).map((m) => ({ ...m }));
  }

  /** The committed error reports: `[{id, message, errorTicket}]`. */
  errorReports() {
    return this.world.errorReports.map((r) => ({ ...r }));
  }

  /** The wait committed for ticket `id` (`{millis}`, `{time}` or `{ticket}`), or null. */
  waitOf(id) {
    return this.world.waits.get(id)?.until ?? null;
  }

  /** Ticket `id`'s stakeholders, inactive ones included, oldest first. */
  stakeholders(id) {
    return (this.world.people.get(id) ?? []).map((r) => ({
      who: r.who.kind === 'user' ? Principal.user(r.who.userId) : Principal.group(r.who.group),
      connection: r.connection,
      role: r.role,
      isActive: r.isActive,
    }));
  }

  /** The ticket's active assigned user, or null. */
  assigned(id) {
    return assignedUser(this.world, id);
  }

  // --- For the host's answers ---

  stateName(code) {
    return this.states.get(code)?.name ?? `state${code}`;
  }

  isTerminal(code) {
    return this.states.get(code)?.terminal ?? false;
  }

  transitionsFrom(code) {
    return this.transitionTable.get(code) ?? [];
  }

  initialState() {
    const codes = [...this.states.keys()].sort((a, b) => a - b);
    return codes[0] ?? 1;
  }

  plain(id) {
    const t = this.world.tickets.get(id);
    if (!t) throw new Error(`no ticket ${id} in the test host`);
    return t;
  }
}
