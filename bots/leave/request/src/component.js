// The component's entry: the world `bot`'s exports, from LeaveRequest.

import { exportBot } from '@baton/sdk/component';
import { LeaveRequest } from './bot.js';

export const { describe, proceedTicket, onEvent, ticketTimeout } = exportBot(LeaveRequest);
