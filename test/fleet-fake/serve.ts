/**
 * Serves the fake fleet API for manual runs: `node dist/test/fleet-fake/serve.js [timeScale] [unix socket]`
 * prints the endpoint, then serves until killed.
 */
import { FakeFleet } from './fake';

if (require.main === module) {
  const f = new FakeFleet({ timeScale: Number(process.argv[2] ?? 1) });
  void f.listen(process.argv[3]).then((url) => console.log(url));
}
