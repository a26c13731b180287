// Runs the real ggn CLI in this process and reports its peak RSS on fd 3 at exit, so the bench
// measures exactly the ggn process (node's spawn gives no rusage of children).
'use strict';
const fs = require('node:fs');
process.on('exit', () => {
  fs.writeSync(3, JSON.stringify({ maxRSSKiB: process.resourceUsage().maxRSS }) + '\n');
});
require('../bin/ggn.js');
