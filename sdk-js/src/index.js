// @baton/sdk: write Baton bots in JavaScript. What a bot imports: the Bot
// class, Outcome, the ticket, event and people types, Ctx, HostError.
// The component's exports live in `@baton/sdk/component`, the native test
// host in `@baton/sdk/testing`.

export { Bot, Outcome } from './bot.js';
export { Ctx } from './ctx.js';
export { HostError, HostErrorKind, errorMessage } from './errors.js';
export { Action, BotMessage, Comment, Event, EventKind } from './event.js';
export { Connection, Principal, Role, Settings } from './people.js';
export { Reason, ReasonKind, State, Status, Ticket } from './ticket.js';
export { SDK_VERSION, toolchain } from './version.js';
