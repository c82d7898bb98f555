// u64 and s64 across the boundary: Numbers to the bot, exactly, or a loud failure.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkS64, checkU32, checkU64, fromHostInt, fromHostOptInt } from '../src/ids.js';

test('BigInts from the host become exact Numbers', () => {
  assert.equal(fromHostInt(12n, 'ticket id'), 12);
  assert.equal(fromHostInt(9007199254740991n, 'ticket id'), Number.MAX_SAFE_INTEGER);
  assert.equal(fromHostOptInt(undefined, 'user id'), null);
  assert.equal(fromHostOptInt(5n, 'user id'), 5);
  assert.equal(fromHostInt(-1700000000000n, 'time'), -1700000000000);
});

test('a value beyond 2^53 is refused, not rounded', () => {
  assert.throws(() => fromHostInt(9007199254740993n, 'ticket id'), {
    name: 'RangeError',
    message: 'ticket id 9007199254740993 does not fit a JavaScript number exactly',
  });
});

test('bots may pass Numbers or BigInts; anything else is a TypeError naming the argument', () => {
  assert.equal(checkU64(3, 'ticket id'), 3);
  assert.equal(checkU64(3n, 'ticket id'), 3);
  assert.throws(() => checkU64(-1, 'ticket id'), /ticket id must be a non-negative integer, not -1/);
  assert.throws(() => checkU64('3', 'ticket id'), /not "3"/);
  assert.throws(() => checkU64(1.5, 'millis'), TypeError);
  assert.equal(checkS64(-5, 'time'), -5);
  assert.throws(() => checkU32(2 ** 32, 'state code'), TypeError);
});
