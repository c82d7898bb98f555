// The leave request bot against the SDK's TestHost: no Wasm build.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Event, Outcome, Principal, Reason, Status } from '@baton/sdk';
import { TestHost } from '@baton/sdk/testing';
import { LeaveRequest } from '../src/bot.js';

const EMPLOYEE = 5;
const MANAGER = 7;

function host(config = { managers: 'managers' }) {
  return new TestHost('leave', 'request')
    .state(1, 'open').state(2, 'with_manager').terminal(3, 'approved').terminal(4, 'refused')
    .transitions([[1, 2, 4], [2, 3, 4]])
    .group('managers', [MANAGER, 8])
    .group('staff', [EMPLOYEE])
    .config(config);
}

function request(h, metadata, state = 1) {
  return h.addTicket(state, 'Summer holiday', metadata, { createdBy: EMPLOYEE });
}

const GOOD = { from: '2026-07-06', to: '2026-07-10', days: 5 };

test('a valid request goes to the managers', () => {
  const h = host();
  const id = request(h, GOOD);
  h.proceed(LeaveRequest, id, Reason.entered());
  assert.deepEqual(h.moves(id), [{ from: 1, to: 2 }]);
  assert.deepEqual(h.logs(id), ['5 day(s) from 2026-07-06 to 2026-07-10: passed to the managers']);
});

test('"to" before "from" is refused with a log line, and the requester hears it', () => {
  const h = host();
  const id = request(h, { from: '2026-07-10', to: '2026-07-06', days: 3 });
  h.proceed(LeaveRequest, id, Reason.entered());
  assert.equal(h.ticket(id).state.name, 'refused');
  assert.equal(h.ticket(id).status, Status.CLOSED);
  assert.deepEqual(h.logs(id), ['refused: "to" (2026-07-06) is before "from" (2026-07-10)']);
  assert.deepEqual(h.notifications(id), [
    { id, to: Principal.user(EMPLOYEE), text: 'Your leave request was refused: "to" (2026-07-06) is before "from" (2026-07-10).' },
  ]);
});

test('0 days, or a day not in the calendar, is refused', () => {
  const h = host();
  const zero = request(h, { from: '2026-07-06', to: '2026-07-06', days: 0 });
  h.proceed(LeaveRequest, zero, Reason.entered());
  assert.deepEqual(h.logs(zero), ['refused: the request takes 0 days']);
  assert.deepEqual(h.moves(zero), [{ from: 1, to: 4 }]);
  const feb30 = request(h, { from: '2026-02-30', to: '2026-03-02', days: 1 });
  h.proceed(LeaveRequest, feb30, Reason.sweep());
  assert.deepEqual(h.logs(feb30), ['refused: "from" (2026-02-30) is not a day of the calendar']);
});

test('with the managers, it asks their group to accept it', () => {
  const h = host();
  const id = request(h, GOOD, 2);
  h.proceed(LeaveRequest, id, Reason.entered());
  assert.deepEqual(h.calls(), [
    { call: 'requestAcceptance', id, group: 'managers' },
    { call: 'log', id, message: 'asked the managers group to accept the request', data: null },
  ]);
  assert.equal(h.stakeholders(id)[0].who.group, 'managers');
});

test('reminders and other reasons change nothing', () => {
  const h = host();
  const id = request(h, GOOD, 2);
  h.proceed(LeaveRequest, id, Reason.reminder(1));
  h.proceed(LeaveRequest, id, Reason.waitEnded());
  assert.deepEqual(h.calls(), []);
});

test('approve closes it as approved and tells the requester', () => {
  const h = host();
  const id = request(h, GOOD, 2);
  assert.equal(h.event(LeaveRequest, id, Event.action('approve', {}, MANAGER)), Outcome.HANDLED);
  const t = h.ticket(id);
  assert.equal(t.state.name, 'approved');
  assert.deepEqual(t.metadata(), { ...GOOD, decision: { by: MANAGER } });
  assert.deepEqual(h.logs(id), ['approved by user 7']);
  assert.deepEqual(h.notifications(id), [{ id, to: Principal.user(EMPLOYEE), text: 'Your leave request was approved.' }]);
});

test('refuse closes it as refused with the reason', () => {
  const h = host();
  const id = request(h, GOOD, 2);
  const outcome = h.event(LeaveRequest, id, Event.action('refuse', { reason: 'the release week' }, MANAGER));
  assert.equal(outcome, Outcome.HANDLED);
  const t = h.ticket(id);
  assert.equal(t.state.code, 4);
  assert.deepEqual(t.metadata().decision, { by: MANAGER, reason: 'the release week' });
  assert.deepEqual(h.notifications(id), [
    { id, to: Principal.user(EMPLOYEE), text: 'Your leave request was refused: the release week' },
  ]);
});

test('other events and states are left to Baton', () => {
  const h = host();
  const id = request(h, GOOD, 2);
  assert.equal(h.event(LeaveRequest, id, Event.accepted(MANAGER)), Outcome.UNHANDLED);
  assert.equal(h.event(LeaveRequest, id, Event.comment(1, 'enjoy', MANAGER)), Outcome.UNHANDLED);
  assert.equal(h.event(LeaveRequest, id, Event.action('escalate', {}, MANAGER)), Outcome.UNHANDLED);
  const fresh = request(h, GOOD, 1);
  assert.equal(h.event(LeaveRequest, fresh, Event.action('approve', {}, MANAGER)), Outcome.UNHANDLED);
  assert.equal(h.timeout(LeaveRequest, id), Outcome.UNHANDLED);
  assert.deepEqual(h.calls(), []);
});

test('a [config] without the managers group fails the invocation with a message, changing nothing', () => {
  const h = host({});
  const id = request(h, GOOD, 2);
  assert.throws(() => h.proceed(LeaveRequest, id, Reason.entered()), {
    name: 'InvocationError',
    message: 'the leave manifest\'s [config] names no managers group (managers = "...")',
  });
  assert.deepEqual(h.stakeholders(id), []);
});

test('a refusal with a blank reason fails with the Error\'s message and changes nothing', () => {
  const h = host();
  const id = request(h, GOOD, 2);
  assert.throws(() => h.event(LeaveRequest, id, Event.action('refuse', { reason: '  ' }, MANAGER)), {
    name: 'InvocationError',
    message: 'a refusal needs a reason',
  });
  assert.equal(h.ticket(id).state.code, 2);
  assert.deepEqual(h.notifications(id), []);
});
