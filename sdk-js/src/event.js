// Events: what happened to a ticket while it is in the bot's state (an
// action, a comment, an acceptance, another bot's notification).

import { parseJson } from './json.js';

/** A human action, e.g. a reviewer's "approve" button. */
export class Action {
  /** @param {string} name @param {string} payloadJson @param {number} userId the user who pressed it */
  constructor(name, payloadJson, userId) {
    this.name = name;
    this.payloadJson = payloadJson;
    this.userId = userId;
  }

  /** The payload, parsed from its JSON document. */
  payload() {
    return parseJson(this.payloadJson, `the payload of action ${JSON.stringify(this.name)}`);
  }
}

/** A comment a person wrote on the ticket. */
export class Comment {
  /** @param {number} id @param {string} body @param {number} userId */
  constructor(id, body, userId) {
    this.id = id;
    this.body = body;
    this.userId = userId;
  }
}

/** Another bot's message about the ticket. */
export class BotMessage {
  /** @param {string} sender the sending bot's name @param {string} text */
  constructor(sender, text) {
    this.sender = sender;
    this.text = text;
  }
}

/** The WIT `event` variant's cases. */
export const EventKind = Object.freeze({
  ACTION: 'action',
  COMMENT: 'comment',
  ACCEPTED: 'accepted',
  NOTIFICATION: 'notification',
});

/**
 * Something that happened to a ticket in the bot's state. `kind` says
 * which field is set: `action`, `comment`, `userId` (accepted) or
 * `notification`.
 */
export class Event {
  /** @param {string} kind @param {object} data */
  constructor(kind, data) {
    /** @type {string} one of {@link EventKind} */
    this.kind = kind;
    /** @type {Action|null} */
    this.action = data.action ?? null;
    /** @type {Comment|null} */
    this.comment = data.comment ?? null;
    /** @type {number|null} the member of the assigned group who accepted */
    this.userId = data.userId ?? null;
    /** @type {BotMessage|null} */
    this.notification = data.notification ?? null;
  }

  /**
   * @param {string} name
   * @param {object|string} payload an object, or its JSON document
   * @param {number} userId
   */
  static action(name, payload, userId) {
    const json = typeof payload === 'string' ? payload : JSON.stringify(payload ?? {});
    return new Event(EventKind.ACTION, { action: new Action(name, json, userId) });
  }
  /** @param {number} id @param {string} body @param {number} userId */
  static comment(id, body, userId) {
    return new Event(EventKind.COMMENT, { comment: new Comment(id, body, userId) });
  }
  /** @param {number} userId */
  static accepted(userId) {
    return new Event(EventKind.ACCEPTED, { userId });
  }
  /** @param {string} sender @param {string} text */
  static notification(sender, text) {
    return new Event(EventKind.NOTIFICATION, { notification: new BotMessage(sender, text) });
  }

  /** A short description for log lines, e.g. `action "approve"`. */
  describe() {
    switch (this.kind) {
      case EventKind.ACTION: return `action ${JSON.stringify(this.action.name)}`;
      case EventKind.COMMENT: return `comment ${this.comment.id}`;
      case EventKind.ACCEPTED: return `acceptance by user ${this.userId}`;
      case EventKind.NOTIFICATION: return `notification from ${this.notification.sender}`;
      default: return this.kind;
    }
  }
}
