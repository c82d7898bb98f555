// People and settings as bots see them: Principal, Connection and Role for
// stakeholders and notifications, and the Settings in force.

/** A user (by id) or a group (by name). */
export class Principal {
  /** @param {'user'|'group'} kind @param {number|null} userId @param {string|null} group */
  constructor(kind, userId, group) {
    this.kind = kind;
    /** @type {number|null} */
    this.userId = userId;
    /** @type {string|null} */
    this.group = group;
  }
  /** @param {number} id */
  static user(id) { return new Principal('user', id, null); }
  /** @param {string} name */
  static group(name) { return new Principal('group', null, name); }
  toString() { return this.kind === 'user' ? `user ${this.userId}` : `group ${this.group}`; }
}

/** How a stakeholder is connected to a ticket. */
export const Connection = Object.freeze({
  /** Responsible for moving it on. */
  ASSIGNED: 'assigned',
  /** Kept in the loop, visibly. */
  CC: 'cc',
  /** Kept in the loop, hidden from the other stakeholders. */
  BCC: 'bcc',
});

/** What a stakeholder does. */
export const Role = Object.freeze({ REQUESTER: 'requester', ACTIONER: 'actioner' });

/**
 * The ticket type's settings in force in the bot's state, in milliseconds
 * (`null` when not set).
 */
export class Settings {
  /** @param {{lifetimeMs?: number|null, notifyEveryMs?: number|null, notifyRepeats?: number, retentionMs?: number|null}} [f] */
  constructor(f = {}) {
    /** Time a ticket may spend in the state before ticketTimeout. */
    this.lifetimeMs = f.lifetimeMs ?? null;
    /** Interval of reminders and acceptance requests. */
    this.notifyEveryMs = f.notifyEveryMs ?? null;
    /** How many reminders at most. */
    this.notifyRepeats = f.notifyRepeats ?? 0;
    /** How long a closed ticket is kept. */
    this.retentionMs = f.retentionMs ?? null;
  }
}
