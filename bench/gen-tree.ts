/**
 * Generates the benchmark work tree: one env with SERVICES services of NODES nodes each
 * (40 x 250 = 10,000 units by default), with realistic attributes, includes and templates.
 * Usage: node dist/bench/gen-tree.js <dir> [services] [nodes]
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export function generateBenchTree(dir: string, services = 40, nodes = 250): { work: string; home: string; env: string } {
  const work = path.join(dir, 'work');
  const home = path.join(dir, 'home');
  fs.rmSync(dir, { recursive: true, force: true });
  const w = (rel: string, content: string) => {
    const f = path.join(work, rel);
    fs.mkdirSync(path.dirname(f), { recursive: true });
    fs.writeFileSync(f, content);
  };
  w('common-attributes/jvm/defaults.yml', 'default:\n  jvm:\n    heap: 512m\n    opts: [-XX:+UseG1GC, -Xss256k]\n');
  w('env/bench/config.yml', 'envName: bench\n');
  w(
    'env/bench/attributes/00-base.yml',
    `default:\n  datacenter: dc1\n  dns_domain: bench.example.net\n  log_level: INFO\n  graphite: {host: graphite.example.net, port: 2003, prefix: bench}\n  owners: [ops, data]\n` +
      Array.from({ length: 20 }, (_, i) => `  setting_${i}: value-${i}\n`).join(''),
  );
  w('env/bench/templates/common.partial', '{{define "restart"}}Restart=always\nRestartSec=5{{end}}\n');
  for (let s = 0; s < services; s++) {
    const svc = `svc${String(s).padStart(2, '0')}`;
    w(
      `env/bench/services/${svc}/attributes/${svc}.yml`,
      `include: [jvm.defaults]\ndefault:\n  port: ${8000 + s}\n  replicas: ${nodes}\n  features:\n    a: true\n    b: false\n  shards: [${Array.from({ length: 8 }, (_, i) => i).join(', ')}]\n  env_vars:\n` +
        Array.from({ length: 10 }, (_, i) => `    VAR_${i}: "v${i}"\n`).join('') +
        `override:\n  log_level: WARN\n`,
    );
    w(
      `env/bench/services/${svc}/service-manifest.yml`,
      `concurrentUpdater: 2\ncontainers:\n  - aci.example.net/${svc}:1.0.{{.port}}\nnodes:\n` +
        Array.from({ length: nodes }, (_, n) => `  - hostname: ${svc}-n${n}\n    ip: 10.${s}.${n >> 8}.${n & 255}\n    shard_index: ${n % 8}\n`).join(''),
    );
    w(
      `env/bench/services/${svc}/unit.tmpl`,
      `[Unit]
Description=${svc} {{.hostname}} ({{.datacenter}})
After=network-online.target

[Service]
Environment=LOG_LEVEL={{.log_level}}
Environment=PORT={{.port}} SHARD={{index .shards .shard_index}}
Environment=HEAP={{.jvm.heap}} JVM_OPTS={{range .jvm.opts}}{{.}} {{end}}
{{- range $k, $v := .env_vars}}
Environment={{$k}}={{$v}}
{{- end}}
Environment=GRAPHITE={{.graphite.host}}:{{.graphite.port}}/{{.graphite.prefix}}.{{.hostname}}
{{if .features.a}}Environment=FEATURE_A=on{{else}}Environment=FEATURE_A=off{{end}}
Environment=OWNERS={{range $i, $o := .owners}}{{if $i}},{{end}}{{$o}}{{end}}
Environment=ID={{printf "%s-%03d" .hostname .shard_index}}
{{.environmentAttributes}}ExecStart=/usr/bin/rkt run {{.acis}}--set-env=TEMPLATER_OVERRIDE={{.environmentAttributesVars}}
{{template "restart"}}

[X-Fleet]
MachineMetadata=dirName={{.hostname}}
Conflicts=bench_${svc}_*.service
`,
    );
  }
  fs.mkdirSync(home, { recursive: true });
  fs.writeFileSync(path.join(home, 'config.yml'), `workPath: ${work}\n`);
  return { work, home, env: 'bench' };
}

if (require.main === module) {
  const [dir, s, n] = process.argv.slice(2);
  if (!dir) {
    process.stderr.write('usage: gen-tree <dir> [services] [nodes]\n');
    process.exit(2);
  }
  const t = generateBenchTree(path.resolve(dir), s ? Number(s) : undefined, n ? Number(n) : undefined);
  process.stdout.write(`tree: ${t.work}\nhome: ${t.home}\nrun:  ggn -H ${t.home} bench generate\n`);
}
