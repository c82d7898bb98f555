// The raw host inside Baton: each call is the component's import of the
// same name, its arguments converted to the bindings' types (BigInt for
// u64) and its refusal rethrown as HostError. Only loadable inside a
// component: `baton:bot/...` modules exist there alone.

import { addTicketToProceededList, createTicket, getCurrentTicketList, getTicket, log, reportError, sendTicket, sendTicketTo, setMetadata } from 'baton:bot/tickets@0.1.0';
import { wait, waitUntilTicket, waitUntilTime } from 'baton:bot/waits@0.1.0';
import { sendBotNotification, sendUserNotification } from 'baton:bot/notify@0.1.0';
import { addStakeholder, getAssignedUser, requestAcceptance, setAssignedUser } from 'baton:bot/people@0.1.0';
import { getConfig, getSettings } from 'baton:bot/settings@0.1.0';

import { fromHostInt, fromHostOptInt } from '../ids.js';
import { hostErrorFromWit, principalToWit, settingsFromWit, stateFromWit, ticketFromWit } from './convert.js';

function call(f, ...args) {
  try {
    return f(...args);
  } catch (thrown) {
    throw hostErrorFromWit(thrown);
  }
}

const u64 = (n) => BigInt(n);

/** @type {import('../ctx.js').Host} */
export const wasmHost = {
  getTicket: (id) => ticketFromWit(call(getTicket, u64(id))),
  createTicket: (type, title, json) => fromHostInt(call(createTicket, type, title, json), 'ticket id'),
  sendTicket: (id) => stateFromWit(call(sendTicket, u64(id))),
  sendTicketTo: (id, code) => stateFromWit(call(sendTicketTo, u64(id), code)),
  setMetadata: (id, json) => { call(setMetadata, u64(id), json); },
  log: (id, message, data) => { call(log, u64(id), message, data ?? undefined); },
  getCurrentTicketList: () => Array.from(call(getCurrentTicketList), (id) => fromHostInt(id, 'ticket id')),
  addTicketToProceededList: (id) => { call(addTicketToProceededList, u64(id)); },
  reportError: (id, message) => fromHostInt(call(reportError, u64(id), message), 'ticket id'),
  wait: (id, millis) => { call(wait, u64(id), u64(millis)); },
  waitUntilTime: (id, time) => { call(waitUntilTime, u64(id), BigInt(time)); },
  waitUntilTicket: (id, other) => { call(waitUntilTicket, u64(id), u64(other)); },
  sendUserNotification: (id, to, text) => { call(sendUserNotification, u64(id), principalToWit(to), text); },
  sendBotNotification: (id, bot, text) => { call(sendBotNotification, u64(id), bot, text); },
  getAssignedUser: (id) => fromHostOptInt(call(getAssignedUser, u64(id)), 'user id'),
  setAssignedUser: (id, user) => { call(setAssignedUser, u64(id), u64(user)); },
  addStakeholder: (id, who, connection, role) => { call(addStakeholder, u64(id), principalToWit(who), connection, role); },
  requestAcceptance: (id, group) => { call(requestAcceptance, u64(id), group); },
  getSettings: () => settingsFromWit(getSettings()),
  getConfig: () => getConfig(),
};
