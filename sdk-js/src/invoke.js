// One invocation of a bot, the same inside Baton (component/export.js) and
// in the TestHost: a fresh instance, the call, and its result checked, with
// anything thrown turned into the error message Baton stores.

import { Bot, Outcome } from './bot.js';
import { errorMessage } from './errors.js';

const OUTCOMES = new Set(Object.values(Outcome));

/**
 * What a bot says about itself (the WIT `bot-info`), checked.
 * @param {typeof Bot} BotClass
 * @param {string} toolchain
 */
export function describeBot(BotClass, toolchain) {
  const { metaservice, ticketType, states } = BotClass;
  const bad = (what) => new Error(`${BotClass.name}: static ${what}`);
  if (typeof metaservice !== 'string' || metaservice === '') throw bad('metaservice must be a non-empty string');
  if (typeof ticketType !== 'string' || ticketType === '') throw bad('ticketType must be a non-empty string');
  if (!Array.isArray(states) || states.length === 0 || !states.every((s) => Number.isInteger(s) && s >= 0 && s <= 0xffff_ffff)) {
    throw bad('states must be a non-empty array of state codes');
  }
  return { metaservice, ticketType, states: [...states], toolchain };
}

/**
 * Runs `method` of a fresh instance of `BotClass`.
 * @returns {{ok: true, value: unknown} | {ok: false, error: string, thrown: unknown}}
 */
export function invoke(BotClass, method, args) {
  try {
    if (typeof BotClass !== 'function') throw new TypeError('the bot is not a class');
    const bot = new BotClass();
    if (typeof bot[method] !== 'function') throw new TypeError(`${BotClass.name}.${method} is not a method`);
    const value = bot[method](...args);
    if (value !== null && typeof value === 'object' && typeof value.then === 'function') {
      // The component's exports are synchronous: a Promise would be
      // dropped unsettled and its work lost, so refuse it loudly.
      value.then(undefined, () => {});
      throw new TypeError(`${BotClass.name}.${method} returned a Promise: bot methods must be synchronous (no async)`);
    }
    return { ok: true, value };
  } catch (thrown) {
    return { ok: false, error: errorMessage(thrown), thrown };
  }
}

/** Runs `method` (onEvent or ticketTimeout) and checks it returned an Outcome. */
export function invokeWithOutcome(BotClass, method, args) {
  const result = invoke(BotClass, method, args);
  if (result.ok && !OUTCOMES.has(result.value)) {
    const error = `${BotClass.name}.${method} returned ${String(result.value)}: return Outcome.HANDLED or Outcome.UNHANDLED`;
    return { ok: false, error, thrown: new TypeError(error) };
  }
  return result;
}
