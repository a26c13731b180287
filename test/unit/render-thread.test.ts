/**
 * A large env renders half of its services on a render thread: the same files, the same outcomes
 * in the same order, and the same errors (a failing service, a failing unit) as on one thread.
 */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { generate } from '../../src/render/generate';
import { Workspace } from '../../src/workspace';
import { listFiles, scratchTree } from '../support/cli';

function tree() {
  const files: Record<string, string> = { 'env/prod/attributes/base.yml': 'default:\n  port: 80\n' };
  for (let s = 0; s < 6; s++) {
    const svc = `svc${s}`;
    files[`env/prod/services/${svc}/service-manifest.yml`] = `nodes:\n${Array.from({ length: 5 }, (_, n) => `  - hostname: ${svc}-n${n}\n`).join('')}`;
    // svc3 cannot be rendered at all; in svc4 one node's unit fails.
    files[`env/prod/services/${svc}/unit.tmpl`] =
      s === 3
        ? '[Service]\nExecStart={{.port\n'
        : s === 4
          ? '[Service]\nExecStart=/bin/x {{if eq .hostname "svc4-n2"}}{{index .hostname 99}}{{end}}{{.port}}\n'
          : '[Service]\nExecStart=/bin/x {{.hostname}} {{.port}}\n';
  }
  return scratchTree(files);
}

const summary = (outcomes: Awaited<ReturnType<typeof generate>>, work: string) =>
  outcomes.map((o) => ({
    service: o.service,
    written: o.written.map((f) => path.relative(work, f)).sort(),
    unchanged: o.unchanged.length,
    errors: o.errors.map((e) =>
      e
        .oneLine((p) => path.relative(work, p))
        .split(work)
        .join('<work>'),
    ),
  }));

describe('generate on two threads', () => {
  it('writes the same units and reports the same outcomes as one thread', async () => {
    const one = tree();
    const two = tree();
    const a = await generate(new Workspace({ homePath: one.home }), { env: 'prod' }, { renderThreadFrom: 1000 });
    const b = await generate(new Workspace({ homePath: two.home }), { env: 'prod' }, { renderThreadFrom: 2 });
    assert.deepEqual(summary(b, two.work), summary(a, one.work));
    assert.deepEqual(listFiles(two.work), listFiles(one.work));
    for (const f of listFiles(one.work)) assert.equal(fs.readFileSync(path.join(two.work, f), 'utf8'), fs.readFileSync(path.join(one.work, f), 'utf8'));
    assert.equal(b.length, 6);
    assert.ok(b[3].errors.length === 1 && b[4].errors.length === 1, 'the failures of both threads are reported');
    assert.equal(b[4].written.length, 4, 'the other units of a service with a failing unit are written');
    // A second run: everything unchanged, on both threads.
    const again = await generate(new Workspace({ homePath: two.home }), { env: 'prod' }, { renderThreadFrom: 2 });
    assert.deepEqual(
      again.map((o) => o.written.length),
      [0, 0, 0, 0, 0, 0],
    );
    assert.deepEqual(
      again.map((o) => o.unchanged.length),
      a.map((o) => o.written.length),
    );
  });
});
