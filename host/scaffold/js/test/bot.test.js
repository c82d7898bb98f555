// The bot's logic, natively, against the SDK's TestHost (no Wasm build).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Reason } from '@baton/sdk';
import { TestHost } from '@baton/sdk/testing';
import { Open } from '../src/bot.js';

test('a request is logged and done', () => {
  const host = new TestHost('{{name}}', 'request')
    .state(1, 'open').terminal(2, 'done')
    .transitions([[1, 2]]);
  const id = host.addTicket(1, 'a request', { text: 'hello' });
  host.proceed(Open, id, Reason.entered());
  assert.deepEqual(host.logs(id), ['received: "hello"']);
  assert.equal(host.ticket(id).state.code, 2);
});
