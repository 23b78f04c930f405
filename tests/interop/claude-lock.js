#!/usr/bin/env node
// Claude Code's side of a task-list lock, for tests/test_interop.c.
//
//   node claude-lock.js hold FILE MS   lock FILE as Claude does, print "locked",
//                                      hold it MS ms, release, print "released"
//   node claude-lock.js try FILE [RETRIES]
//                                      print "trying", try to lock FILE with Claude's
//                                      retries (or RETRIES); print "acquired MS" and
//                                      exit 0, or "ELOCKED MS" and exit 3 (MS: time taken)
//
// FILE is created empty if missing, as Claude creates <list>/.lock: proper-lockfile
// resolves the realpath of the locked file, so it must exist. The lock itself is the
// directory FILE.lock.
'use strict';

const fs = require('fs');
const lockfile = require('proper-lockfile');

// The options Claude Code passes (see shared/task-format.md).
const CLAUDE = { stale: 10000, update: 5000, retries: { retries: 30, minTimeout: 5, maxTimeout: 100 } };

function usage() {
  process.stderr.write('usage: claude-lock.js hold FILE MS | try FILE [RETRIES]\n');
  process.exit(2);
}

async function main() {
  const [mode, file, arg] = process.argv.slice(2);
  if (!file || (mode !== 'hold' && mode !== 'try')) usage();
  fs.closeSync(fs.openSync(file, 'a'));
  const opts = { ...CLAUDE };
  if (mode === 'try' && arg !== undefined) opts.retries = Number(arg);
  if (mode === 'try') console.log('trying');
  const t0 = Date.now();
  let release;
  try {
    release = await lockfile.lock(file, opts);
  } catch (err) {
    if (err.code !== 'ELOCKED') throw err;
    console.log(`ELOCKED ${Date.now() - t0}`);
    process.exit(3);
  }
  if (mode === 'try') {
    console.log(`acquired ${Date.now() - t0}`);
    await release();
    return;
  }
  console.log('locked');
  await new Promise((resolve) => setTimeout(resolve, Number(arg)));
  await release();
  console.log('released');
}

main().catch((err) => {
  process.stderr.write(`claude-lock: ${err.stack || err}\n`);
  process.exit(1);
});
