// The component's entry: the world `bot`'s exports, from Open.

import { exportBot } from '@baton/sdk/component';
import { Open } from './bot.js';

export const { describe, proceedTicket, onEvent, ticketTimeout } = exportBot(Open);
