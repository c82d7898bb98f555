// The bot of `{{name}}/request` in state `open`: it reads the request,
// logs what it saw and sends the ticket on to `done`.

import { Bot } from '@baton/sdk';

export class Open extends Bot {
  static metaservice = '{{name}}';
  static ticketType = 'request';
  static states = [1];

  proceedTicket(ctx, ticket, reason) {
    const { text = '' } = ticket.metadata();
    ctx.log(ticket.id, `received: ${JSON.stringify(text)}`);
    ctx.sendTicket(ticket.id);
  }
}
