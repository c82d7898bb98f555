// `node --import <sdk-js>/tools/register.js --test`: makes `@baton/sdk`
// resolve to this checkout of the SDK, the way a path dependency does in
// Cargo, without a node_modules directory in the bot's project.

import { register } from 'node:module';

register('./resolve-hook.js', import.meta.url);
