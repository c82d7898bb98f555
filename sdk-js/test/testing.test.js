// The TestHost: transitions as Baton follows them, rollback of a failed
// run (the calls stay recorded), people, notifications, waits.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Bot, Connection, Event, HostError, Outcome, Principal, Reason, Role, Status } from '../src/index.js';
import { InvocationError, TestHost } from '../src/testing/index.js';

const host = () => new TestHost('demo', 'request')
  .state(1, 'open').state(2, 'review').terminal(3, 'done').terminal(4, 'refused')
  .transitions([[1, 2, 4], [2, 3, 4]])
  .group('reviewers', [7, 8])
  .group('staff', [9])
  .config({ review_group: 'reviewers' });

class Demo extends Bot {
  static metaservice = 'demo';
  static ticketType = 'request';
  static states = [1, 2];
  proceedTicket(ctx, ticket, reason) {
    const m = ticket.metadata();
    ctx.log(ticket.id, `on ${reason}`, { n: m.n });
    if (m.n === 0) {
      ctx.sendTicketTo(ticket.id, 4);
      return;
    }
    if (m.n < 0) {
      ctx.sendTicket(ticket.id);
      throw new Error('negative');
    }
    ctx.sendTicket(ticket.id);
  }
  onEvent(ctx, ticket, event) {
    if (event.kind === 'accepted') {
      ctx.notifyUser(ticket.id, event.userId, 'yours now');
      return Outcome.HANDLED;
    }
    return Outcome.UNHANDLED;
  }
}

test('proceed follows the normal next state and records the calls', () => {
  const h = host();
  const id = h.addTicket(1, 'a request', { n: 1 });
  h.proceed(Demo, id, Reason.entered());
  assert.equal(h.ticket(id).state.code, 2);
  assert.equal(h.ticket(id).state.name, 'review');
  assert.deepEqual(h.moves(id), [{ from: 1, to: 2 }]);
  assert.deepEqual(h.logs(id), ['on entered']);
  assert.deepEqual(h.logEntries(id), [{ message: 'on entered', data: { n: 1 } }]);
  assert.deepEqual(h.calls(), [
    { call: 'log', id, message: 'on entered', data: { n: 1 } },
    { call: 'sendTicket', id },
  ]);
});

test('an alternative closes the ticket when terminal', () => {
  const h = host();
  const id = h.addTicket(1, 'zero', { n: 0 });
  h.proceed(Demo, id);
  assert.equal(h.ticket(id).state.code, 4);
  assert.equal(h.ticket(id).status, Status.CLOSED);
});

test('a failed run keeps nothing but the record of calls', () => {
  const h = host();
  const id = h.addTicket(1, 'bad', { n: -1 });
  assert.throws(() => h.proceed(Demo, id), (e) => e instanceof InvocationError && e.message === 'negative' && e.cause.message === 'negative');
  assert.equal(h.ticket(id).state.code, 1);
  assert.deepEqual(h.logs(id), []);
  assert.deepEqual(h.moves(id), []);
  assert.deepEqual(h.calls().map((c) => c.call), ['log', 'sendTicket']);
});

test('moves the transitions do not list, and closed tickets, are refused', () => {
  class Jumper extends Bot {
    static metaservice = 'demo'; static ticketType = 'request'; static states = [1];
    proceedTicket(ctx, t) {
      try {
        ctx.sendTicketTo(t.id, 3);
      } catch (e) {
        assert.ok(e instanceof HostError);
        assert.equal(e.kind, 'not-allowed');
        ctx.log(t.id, e.message);
      }
      ctx.getTicket(999);
    }
  }
  const h = host();
  const id = h.addTicket(1, 't', {});
  assert.throws(() => h.proceed(Jumper, id), { message: 'host refused: not found: ticket 999' });
  assert.deepEqual(h.calls()[0], { call: 'sendTicketTo', id, code: 3 });
});

test('a bot runs only on tickets in its states', () => {
  const h = host();
  const id = h.addTicket(3, 'done already', {});
  assert.throws(() => h.proceed(Demo, id), /in state 3, which Demo does not serve/);
});

test('events return the outcome; people and notifications follow Baton\'s checks', () => {
  class Reviewer extends Bot {
    static metaservice = 'demo'; static ticketType = 'request'; static states = [2];
    proceedTicket(ctx, t) {
      const { review_group } = ctx.config();
      ctx.requestAcceptance(t.id, review_group);
      ctx.addStakeholder(t.id, Principal.group('staff'), Connection.CC, Role.REQUESTER);
    }
    onEvent(ctx, t, event) {
      if (event.kind === 'comment') {
        ctx.assignUser(t.id, 9);
      }
      return Outcome.HANDLED;
    }
  }
  const h = host();
  const id = h.addTicket(2, 't', {});
  h.proceed(Reviewer, id);
  assert.deepEqual(h.stakeholders(id).map((s) => [String(s.who), s.connection, s.isActive]), [
    ['group reviewers', 'assigned', true], ['group staff', 'cc', true],
  ]);
  assert.throws(() => h.event(Reviewer, id, Event.comment(1, 'me!', 9)), /host refused: not allowed: user 9 is not a member of group reviewers/);
  assert.equal(h.event(Demo, id, Event.accepted(7)), Outcome.HANDLED);
  assert.deepEqual(h.notifications(id), [{ id, to: Principal.user(7), text: 'yours now' }]);
  assert.equal(h.event(Demo, id, Event.action('approve', {}, 7)), Outcome.UNHANDLED);
});

test('unknown people are not found', () => {
  class Notifier extends Bot {
    static metaservice = 'demo'; static ticketType = 'request'; static states = [1];
    proceedTicket(ctx, t) { ctx.notify(t.id, Principal.group('nobody'), 'hello'); }
  }
  const h = host();
  const id = h.addTicket(1, 't', {});
  assert.throws(() => h.proceed(Notifier, id), /not found: group nobody/);
  assert.deepEqual(h.notifications(), []);
});

test('waits, child tickets, error reports and settings', () => {
  class Waiter extends Bot {
    static metaservice = 'demo'; static ticketType = 'request'; static states = [1];
    proceedTicket(ctx, t) {
      const child = ctx.createTicket('request', 'a part', { n: 5 });
      ctx.reportError(t.id, 'look at this');
      ctx.waitUntilTicket(t.id, child);
      ctx.log(t.id, `lifetime ${ctx.settings().lifetimeMs}`);
    }
  }
  const h = host().settings({ lifetimeMs: 3600000 });
  const id = h.addTicket(1, 't', {});
  h.proceed(Waiter, id);
  const child = h.ticket(2);
  assert.equal(child.parentId, id);
  assert.deepEqual(child.metadata(), { n: 5 });
  assert.deepEqual(h.waitOf(id), { ticket: 2 });
  assert.deepEqual(h.errorReports(), [{ id, message: 'look at this', errorTicket: 3 }]);
  assert.deepEqual(h.logs(id), ['lifetime 3600000']);
});

test('Ctx checks arguments before the host sees them', () => {
  class Sloppy extends Bot {
    static metaservice = 'demo'; static ticketType = 'request'; static states = [1];
    proceedTicket(ctx, t) { ctx.sendTicket(String(t.id)); }
  }
  const h = host();
  const id = h.addTicket(1, 't', {});
  assert.throws(() => h.proceed(Sloppy, id), { message: 'TypeError: ticket id must be a non-negative integer, not "1"' });
  assert.deepEqual(h.calls(), []);
});

test('the timeout defaults to Baton', () => {
  const h = host();
  const id = h.addTicket(1, 't', {});
  assert.equal(h.timeout(Demo, id), Outcome.UNHANDLED);
});
