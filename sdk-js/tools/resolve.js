// Where `@baton/sdk` and its subpaths live: the package's own "exports"
// map, read from its package.json. Shared by the test-time resolve hook
// (register.js) and the component build (build.js).

import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const SDK_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const PKG = JSON.parse(readFileSync(join(SDK_ROOT, 'package.json'), 'utf8'));
export const SDK_NAME = PKG.name;

/** The SDK file a specifier names, relative to the SDK's root, or null when it is not the SDK. */
export function sdkSubpath(specifier) {
  if (specifier !== SDK_NAME && !specifier.startsWith(`${SDK_NAME}/`)) return null;
  const key = `.${specifier.slice(SDK_NAME.length)}`;
  const target = PKG.exports[key];
  if (typeof target !== 'string') throw new Error(`${specifier}: the SDK exports no ${key}`);
  return target.replace(/^\.\//, '');
}
