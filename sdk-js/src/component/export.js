// @baton/sdk/component: makes a Bot the component's implementation of the
// world `bot`. A bot's component entry is:
//
//   import { exportBot } from '@baton/sdk/component';
//   import { MyBot } from './bot.js';
//   export const { describe, proceedTicket, onEvent, ticketTimeout } = exportBot(MyBot);

import { toolchain } from '../version.js';
import { makeExports } from './glue.js';
import { wasmHost } from './host.js';

/** The four exports of the world `bot` for `BotClass`, over the component's imports. */
export function exportBot(BotClass) {
  return makeExports(BotClass, wasmHost, toolchain());
}
