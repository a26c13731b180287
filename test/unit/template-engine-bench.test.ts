import { it } from 'node:test';
import assert from 'node:assert/strict';
import { Template } from '../../src/template/index';
import { newMap, type GoMap, type GoValue } from '../../src/template/values';

function m(o: { [k: string]: GoValue }): GoMap {
  return Object.assign(newMap(), o);
}

const text = `[Unit]
Description={{.name}} on {{.hostname}}
After=network-online.target
{{range .requires}}Requires={{.}}
After={{.}}
{{end}}
[Service]
{{$root := .}}
Environment=PORT={{.port}}
Environment=MODE={{if eq .mode "http"}}http{{else if eq .mode "tcp"}}tcp{{else}}other{{end}}
Environment=SHARD={{index .shards 1}}
Environment=RATIO={{.ratio}}
{{range $k, $v := .labels}}Environment=LABEL_{{$k}}={{$v}}
{{end}}{{range $i, $s := .servers}}Environment=SERVER_{{$i}}={{$s.name}}:{{$s.port}}.{{$root.domain}}
{{end}}{{with .tls}}Environment=TLS={{.cert}}{{end}}
Environment=MISSING={{.nothing.here}}
Environment=LEN={{len .servers}}
Environment=CMP={{lt .port 9000}} {{and .tls .tls.enabled}} {{or .x "dflt"}}
Environment=FMT={{printf "%s-%d" .name .port}}
ExecStart=/usr/bin/rkt run {{.image}}:{{.version}} \\
{{range .args}}  --{{.}} \\
{{end}}  --end
Restart=always

[X-Fleet]
MachineMetadata=dirName={{.hostname}}
{{if .conflicts}}Conflicts={{.conflicts}}{{end}}
`;

it('template engine: 10,000 executions of a 30-line template (timing printed, not asserted)', () => {
  const t = Template.parse('bench.tmpl', text, {});
  const datas: GoMap[] = [];
  for (let i = 0; i < 100; i++) {
    datas.push(
      m({
        name: 'svc',
        hostname: 'h' + i,
        domain: 'example.net',
        requires: ['a.service', 'b.service'],
        port: BigInt(8000 + i),
        mode: i % 3 === 0 ? 'http' : i % 3 === 1 ? 'tcp' : 'udp',
        shards: ['s0', 's1', 's2'],
        ratio: 0.75,
        labels: m({ c: 'z', a: 'x', b: 'y' }),
        servers: [m({ name: 'w1', port: 1n }), m({ name: 'w2', port: 2n }), m({ name: 'w3', port: 3n })],
        tls: m({ cert: '/etc/c.pem', enabled: true }),
        image: 'aci.example.net/app',
        version: '1.0',
        args: ['a', 'b', 'c', 'd'],
        conflicts: i % 2 === 0 ? null : 'other.service',
      }),
    );
  }
  const first = t.execute(datas[0]);
  assert.match(first, /Environment=LABEL_a=x\nEnvironment=LABEL_b=y\nEnvironment=LABEL_c=z\n/);
  assert.match(first, /Environment=SERVER_2=w3:3.example.net\n/);
  let bytes = 0;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < 10000; i++) bytes += t.execute(datas[i % 100]).length;
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  console.log(`# template engine: 10000 executions in ${ms.toFixed(1)} ms (${bytes} bytes)`);
  assert.ok(bytes > 0);
});
