#!/usr/bin/env node
'use strict';
// `ggn version` answers before loading anything else, so it starts as fast as node itself.
const argv = process.argv.slice(2);
if (argv.length === 1 && (argv[0] === 'version' || argv[0] === '--version')) {
  process.stdout.write(`ggn version ${require('../package.json').version}\n`);
} else {
  require('../dist/commands/main.js')
    .main(argv)
    .then((code) => {
      process.exitCode = code;
    });
}
