// What built the component. The build (tools/build.js) writes its own copy
// of this file, naming the componentize-js that ran, into the staged
// sources; this one is what native runs (node --test) see.

export const COMPONENTIZE_JS_VERSION = null;
