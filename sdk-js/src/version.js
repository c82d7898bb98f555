// The SDK's version and the toolchain string describe() reports.

import { COMPONENTIZE_JS_VERSION } from './build-info.js';

export const SDK_VERSION = '0.1.0';

/** `baton-sdk-js 0.1.0 (componentize-js 0.23.0)`; `(native)` outside a component build. */
export function toolchain(componentizeJs = COMPONENTIZE_JS_VERSION) {
  const under = componentizeJs ? `componentize-js ${componentizeJs}` : 'native';
  return `baton-sdk-js ${SDK_VERSION} (${under})`;
}
