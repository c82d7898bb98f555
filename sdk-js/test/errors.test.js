// errorMessage: what Baton stores for anything a bot throws.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HostError, HostErrorKind, errorMessage } from '../src/index.js';

test('an Error becomes its message', () => {
  assert.equal(errorMessage(new Error('the dates are upside down')), 'the dates are upside down');
});

test('a subclass of Error of the bot keeps its own message', () => {
  class LeaveError extends Error {}
  assert.equal(errorMessage(new LeaveError('no days')), 'no days');
});

test('built-in errors say what they are: they are bugs', () => {
  assert.equal(errorMessage(new TypeError('x is not a function')), 'TypeError: x is not a function');
  assert.equal(errorMessage(new RangeError('too big')), 'RangeError: too big');
});

test('a HostError says the host refused, and why', () => {
  const e = new HostError(HostErrorKind.NOT_ALLOWED, 'no transition 1 -> 3');
  assert.equal(e.kind, 'not-allowed');
  assert.equal(e.detail, 'no transition 1 -> 3');
  assert.equal(errorMessage(e), 'host refused: not allowed: no transition 1 -> 3');
});

test('thrown non-errors still become a message', () => {
  assert.equal(errorMessage('plain words'), 'plain words');
  assert.equal(errorMessage(undefined), 'the bot threw undefined');
  assert.equal(errorMessage(42), 'the bot threw 42');
  assert.equal(errorMessage({ code: 7n }), 'the bot threw {"code":"7"}');
  assert.equal(errorMessage(new Error('')), 'Error');
});
