// The component's exports over a fake raw host, with values shaped as the
// bindings give them (BigInt ids, {tag, val} variants): conversions, the
// outcome, and every failure returned as {tag: 'err'} rather than thrown
// (a thrown Error would trap the instance as "unreachable").

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Bot, Event, HostError, Outcome, Reason, Ticket, toolchain } from '../src/index.js';
import { makeExports } from '../src/component/glue.js';
import { hostErrorFromWit } from '../src/component/convert.js';

const witTicket = (over = {}) => ({
  id: 7n, metaservice: 'demo', ticketType: 'request', title: 't',
  state: { code: 1, name: 'open' }, status: 'open', metadata: '{"days":2}',
  parentId: undefined, createdBy: 42n, createdAt: 1700000000000n, updatedAt: 1700000000001n, version: 3n,
  ...over,
});

function exportsOf(BotClass, host = {}) {
  return makeExports(BotClass, host, toolchain('0.23.0'));
}

class Seen extends Bot {
  static metaservice = 'demo';
  static ticketType = 'request';
  static states = [1, 2];
  static last = null;
  proceedTicket(ctx, ticket, reason) { Seen.last = { ticket, reason }; }
  onEvent(ctx, ticket, event) { Seen.last = { ticket, event }; return Outcome.HANDLED; }
}

test('describe reports the class and the toolchain', () => {
  assert.deepEqual(exportsOf(Seen).describe(), {
    metaservice: 'demo', ticketType: 'request', states: [1, 2], toolchain: 'baton-sdk-js 0.1.0 (componentize-js 0.23.0)',
  });
});

test('describe refuses a class without its statics', () => {
  class Nameless extends Bot {}
  assert.throws(() => exportsOf(Nameless).describe(), /static metaservice must be a non-empty string/);
});

test('tickets and reasons arrive as SDK types, ids as Numbers', () => {
  assert.deepEqual(exportsOf(Seen).proceedTicket(witTicket(), { tag: 'ticket-closed', val: 9n }), { tag: 'ok', val: undefined });
  const { ticket, reason } = Seen.last;
  assert.ok(ticket instanceof Ticket);
  assert.equal(ticket.id, 7);
  assert.equal(ticket.createdBy, 42);
  assert.equal(ticket.parentId, null);
  assert.equal(ticket.createdAt, 1700000000000);
  assert.equal(ticket.version, 3);
  assert.deepEqual(ticket.metadata(), { days: 2 });
  assert.deepEqual(reason, Reason.ticketClosed(9));
  exportsOf(Seen).proceedTicket(witTicket(), { tag: 'reminder', val: 2 });
  assert.equal(Seen.last.reason.toString(), 'reminder(2)');
});

test('events arrive as SDK types', () => {
  const exp = exportsOf(Seen);
  assert.deepEqual(exp.onEvent(witTicket(), { tag: 'action', val: { name: 'refuse', payload: '{"reason":"no"}', userId: 5n } }),
    { tag: 'ok', val: 'handled' });
  assert.deepEqual(Seen.last.event.action.payload(), { reason: 'no' });
  assert.equal(Seen.last.event.action.userId, 5);
  exp.onEvent(witTicket(), { tag: 'accepted', val: 8n });
  assert.deepEqual(Seen.last.event, Event.accepted(8));
  exp.onEvent(witTicket(), { tag: 'comment', val: { id: 3n, body: 'hi', userId: 4n } });
  assert.deepEqual(Seen.last.event, Event.comment(3, 'hi', 4));
  exp.onEvent(witTicket(), { tag: 'notification', val: { sender: 'demo-request-1-open', text: 'x' } });
  assert.equal(Seen.last.event.describe(), 'notification from demo-request-1-open');
});

test('a thrown Error becomes the err string, not a throw', () => {
  class Thrower extends Bot {
    static metaservice = 'demo'; static ticketType = 'request'; static states = [1];
    proceedTicket() { throw new Error('the dates are upside down'); }
    onEvent() { throw new TypeError('oops'); }
    ticketTimeout() { throw 'just a string'; }
  }
  const exp = exportsOf(Thrower);
  assert.deepEqual(exp.proceedTicket(witTicket(), { tag: 'entered' }), { tag: 'err', val: 'the dates are upside down' });
  assert.deepEqual(exp.onEvent(witTicket(), { tag: 'accepted', val: 1n }), { tag: 'err', val: 'TypeError: oops' });
  assert.deepEqual(exp.ticketTimeout(witTicket()), { tag: 'err', val: 'just a string' });
});

test('the default onEvent and ticketTimeout leave it to Baton', () => {
  class Minimal extends Bot {
    static metaservice = 'demo'; static ticketType = 'request'; static states = [1];
    proceedTicket() {}
  }
  const exp = exportsOf(Minimal);
  assert.deepEqual(exp.onEvent(witTicket(), { tag: 'accepted', val: 1n }), { tag: 'ok', val: 'unhandled' });
  assert.deepEqual(exp.ticketTimeout(witTicket()), { tag: 'ok', val: 'unhandled' });
});

test('a missing proceedTicket, a missing Outcome or a Promise fail the call', () => {
  class Lazy extends Bot {
    static metaservice = 'demo'; static ticketType = 'request'; static states = [1];
    onEvent() {}
    async ticketTimeout() { return Outcome.HANDLED; }
  }
  const exp = exportsOf(Lazy);
  assert.deepEqual(exp.proceedTicket(witTicket(), { tag: 'entered' }), { tag: 'err', val: 'Lazy does not implement proceedTicket' });
  assert.match(exp.onEvent(witTicket(), { tag: 'accepted', val: 1n }).val, /returned undefined: return Outcome.HANDLED or Outcome.UNHANDLED/);
  assert.match(exp.ticketTimeout(witTicket()).val, /returned a Promise: bot methods must be synchronous/);
});

test('an id beyond 2^53 fails the call with a message', () => {
  const r = exportsOf(Seen).proceedTicket(witTicket({ id: 2n ** 60n }), { tag: 'entered' });
  assert.equal(r.tag, 'err');
  assert.match(r.val, /RangeError: ticket id 1152921504606846976 does not fit/);
});

test('host refusals become HostErrors the bot can catch', () => {
  const refusal = new Error('[object Object] (see error.payload)');
  Object.defineProperty(refusal, 'payload', { value: { tag: 'not-allowed', val: 'no transition 1 -> 3' } });
  const e = hostErrorFromWit(refusal);
  assert.equal(e.kind, 'not-allowed');
  assert.equal(e.message, 'not allowed: no transition 1 -> 3');
  const other = new Error('not from the host');
  assert.equal(hostErrorFromWit(other), other);
});

test('a HostError escaping the bot reads like the Rust SDK\'s', () => {
  const host = {
    sendTicket() {
      throw new HostError('not-allowed', 'state 1 has no next state');
    },
  };
  class Mover extends Bot {
    static metaservice = 'demo'; static ticketType = 'request'; static states = [1];
    proceedTicket(ctx, t) { ctx.sendTicket(t.id); }
  }
  assert.deepEqual(exportsOf(Mover, host).proceedTicket(witTicket(), { tag: 'entered' }),
    { tag: 'err', val: 'host refused: not allowed: state 1 has no next state' });
});
