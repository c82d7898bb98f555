#!/usr/bin/env node
// baton-js-build: a JavaScript bot project -> its WebAssembly component,
// laid out under each name it is deployed as.
//
//   node sdk-js/tools/build.js PROJECT [--out DIR] [--tools DIR] [--wit DIR]
//
// componentize-js evaluates one entry module at build time and resolves
// only relative imports (no node_modules), so the sources are staged
// first under OUT/stage/: the SDK's src/ as `sdk/`, the bot's src/ as
// `bot/`, `@baton/sdk[/...]` imports rewritten to relative paths into
// `sdk/`, and `sdk/build-info.js` naming the componentize-js version for
// describe(). A bot may import only relative files, the SDK and
// `baton:bot/*`. The component is OUT/<project>.wasm, copied to
// OUT/bots/<name>.wasm for each name of the package.json's
// "baton": {"deploy": [...]}. OUT is build/ in the project unless --out
// says otherwise; nothing is written into the SDK's directory.
//
// The contract is the SDK's own copy of the WIT (sdk-js/wit, the released
// baton:bot@0.1.0) unless --wit names another. componentize-js comes from
// --tools (default: target/tools/js of the Baton checkout this SDK is in,
// where `cargo xtask up` and `cargo xtask test` install it, pinned, from
// sdk-js/tools/toolchain/package-lock.json).

import { spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, normalize, relative, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { SDK_ROOT, sdkSubpath } from './resolve.js';

const REPO = resolve(SDK_ROOT, '..');

function parseArgs(argv) {
  const opts = { project: null, out: null, tools: join(REPO, 'target/tools/js'), wit: join(SDK_ROOT, 'wit') };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--out' || a === '--tools' || a === '--wit') opts[a.slice(2)] = resolve(argv[++i]);
    else if (a.startsWith('-')) fail(`unknown option ${a}`);
    else opts.project = resolve(a);
  }
  if (!opts.project) fail('usage: build.js PROJECT_DIR [--out DIR] [--tools DIR] [--wit DIR]');
  return opts;
}

function fail(message) {
  console.error(`baton-js-build: ${message}`);
  process.exit(1);
}

function jsFiles(dir) {
  return readdirSync(dir, { recursive: true })
    .map((f) => join(dir, f))
    .filter((f) => f.endsWith('.js') && statSync(f).isFile());
}

/**
 * Rewrites the `@baton/sdk` imports of a staged file to relative paths,
 * and refuses any other bare specifier and any import whose specifier is
 * not a plain string (componentize-js could not resolve them). Imports are
 * found by es-module-lexer, which componentize-js itself depends on: a
 * real parse, so comments, strings and several imports on a line are read
 * as JavaScript reads them.
 */
function rewriteImports(lexer, file, sdkDir) {
  const text = readFileSync(file, 'utf8');
  let imports;
  try {
    [imports] = lexer.parse(text, file);
  } catch (e) {
    fail(`${file}: cannot read its imports: ${e.message}`);
  }
  let out = text;
  // From the last to the first, so the earlier offsets stay right.
  for (const imp of [...imports].reverse()) {
    if (imp.d === -2) continue; // import.meta
    const spec = imp.n;
    if (spec === undefined) fail(`${file}: an import whose specifier is computed cannot be bundled (${text.slice(imp.ss, imp.se)})`);
    if (spec.startsWith('.') || spec.startsWith('baton:')) continue;
    const sub = sdkSubpath(spec);
    if (sub === null) fail(`${file}: cannot bundle ${spec}: a bot may import relative files, @baton/sdk and baton:bot/* only`);
    let rel = relative(dirname(file), join(sdkDir, sub.replace(/^src\//, ''))).split(sep).join('/');
    if (!rel.startsWith('.')) rel = `./${rel}`;
    // s..e is the specifier without its quotes for static imports, with
    // them for dynamic ones.
    const quoted = imp.d > -1;
    out = `${out.slice(0, imp.s)}${quoted ? JSON.stringify(rel) : rel}${out.slice(imp.e)}`;
  }
  writeFileSync(file, out);
}

/** es-module-lexer from the toolchain's node_modules, initialised. */
async function loadLexer(tools) {
  const path = join(tools, 'node_modules/es-module-lexer/dist/lexer.js');
  if (!existsSync(path)) fail(`es-module-lexer is not installed in ${tools} (it comes with componentize-js)`);
  const lexer = await import(pathToFileURL(path).href);
  await lexer.init;
  return lexer;
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const pkg = JSON.parse(readFileSync(join(opts.project, 'package.json'), 'utf8'));
  const deploy = pkg.baton?.deploy;
  if (!Array.isArray(deploy) || deploy.length === 0) fail(`${opts.project}/package.json: "baton": {"deploy": [...]} lists no names`);
  // The entry as a path inside the project, e.g. `src/component.js`: its
  // first folder is what gets staged.
  const entry = normalize(pkg.baton.entry ?? 'src/component.js').split(sep).join('/');
  const srcDir = entry.split('/')[0];
  if (entry.startsWith('..') || isAbsolute(entry) || srcDir === entry) {
    fail(`"baton": {"entry": ${JSON.stringify(pkg.baton.entry)}} must name a module inside a folder of the project, e.g. src/component.js`);
  }

  const cjsPkg = join(opts.tools, 'node_modules/@bytecodealliance/componentize-js/package.json');
  if (!existsSync(cjsPkg)) {
    fail(`componentize-js is not installed in ${opts.tools}: run \`cargo xtask up\` (or \`npm ci\` in a copy of sdk-js/tools/toolchain/ there), or pass --tools DIR`);
  }
  const cjsVersion = JSON.parse(readFileSync(cjsPkg, 'utf8')).version;
  const cjsBin = join(opts.tools, 'node_modules/.bin/componentize-js');

  const name = `${pkg.name ?? basename(opts.project)}`.replace(/[^\w.-]+/g, '_');
  const out = opts.out ?? join(opts.project, 'build');
  const stage = join(out, 'stage');
  rmSync(stage, { recursive: true, force: true });
  mkdirSync(stage, { recursive: true });
  cpSync(join(SDK_ROOT, 'src'), join(stage, 'sdk'), { recursive: true, filter: (f) => !relative(join(SDK_ROOT, 'src'), f).split(sep).includes('testing') });
  writeFileSync(join(stage, 'sdk/build-info.js'),
    `// Written by baton-js-build.\nexport const COMPONENTIZE_JS_VERSION = ${JSON.stringify(cjsVersion)};\n`);
  cpSync(join(opts.project, srcDir), join(stage, 'bot', srcDir), { recursive: true });
  const lexer = await loadLexer(opts.tools);
  for (const f of jsFiles(join(stage, 'bot'))) rewriteImports(lexer, f, join(stage, 'sdk'));

  const wasm = join(out, `${name}.wasm`);
  const bots = join(out, 'bots');
  rmSync(bots, { recursive: true, force: true });
  mkdirSync(bots, { recursive: true });
  const args = [join('bot', entry), '--wit', opts.wit, '-n', 'bot', '-d', 'http', '-d', 'fetch-event', '-o', wasm];
  console.log(`(cd ${stage} && ${cjsBin} ${args.join(' ')})`);
  const started = process.hrtime.bigint();
  const run = spawnSync(cjsBin, args, { cwd: stage, stdio: 'inherit' });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (run.status !== 0) fail(`componentize-js failed (status ${run.status})`);
  const size = statSync(wasm).size;
  for (const d of deploy) copyFileSync(wasm, join(bots, `${d}.wasm`));
  console.log(`componentize-js ${cjsVersion}: ${(ms / 1000).toFixed(1)} s, ${size} bytes (${(size / 1048576).toFixed(1)} MiB)`);
  console.log(`deployed as: ${deploy.map((d) => join(bots, `${d}.wasm`)).join(', ')}`);
}

await main();
