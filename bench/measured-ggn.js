// Runs the real ggn CLI in this process and reports its peak RSS on fd 3 at exit, so the bench
// measures exactly the ggn process (node's spawn gives no rusage of children).
'use strict';
const fs = require('node:fs');
process.on('exit', () => {
  const u = process.resourceUsage();
  // CPU time of all its threads (user + system), microseconds.
  fs.writeSync(3, JSON.stringify({ maxRSSKiB: u.maxRSS, cpuUs: u.userCPUTime + u.systemCPUTime }) + '\n');
});
// GGN_MEASURED_BIN: another build's bin/ggn.js (the bench's --baseline).
require(process.env.GGN_MEASURED_BIN || '../bin/ggn.js');
