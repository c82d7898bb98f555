// A Node.js module resolve hook: `@baton/sdk[/...]` from this checkout,
// so a bot's tests run with no npm install (see register.js).

import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { SDK_ROOT, sdkSubpath } from './resolve.js';

export async function resolve(specifier, context, nextResolve) {
  const sub = sdkSubpath(specifier);
  if (sub === null) return nextResolve(specifier, context);
  return { url: pathToFileURL(join(SDK_ROOT, sub)).href, shortCircuit: true };
}
