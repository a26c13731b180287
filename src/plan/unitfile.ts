/**
 * Just enough of systemd's unit file syntax to read `[X-Fleet]`: sections, `Key=Value` lines,
 * comments (`#`, `;`), and backslash line continuations.
 */
export type UnitSections = Map<string, [string, string][]>;

export function parseUnitSections(content: string): UnitSections {
  const sections: UnitSections = new Map();
  let current: [string, string][] | undefined;
  const lines = content.split('\n');
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i].replace(/\r$/, '').trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    while (line.endsWith('\\') && i + 1 < lines.length) line = line.slice(0, -1) + ' ' + lines[++i].trim();
    const sec = /^\[([^\]]+)\]$/.exec(line);
    if (sec) {
      current = sections.get(sec[1]) ?? [];
      sections.set(sec[1], current);
      continue;
    }
    const eq = line.indexOf('=');
    if (eq > 0 && current) current.push([line.slice(0, eq).trim(), line.slice(eq + 1).trim()]);
  }
  return sections;
}

export interface XFleet {
  machineId?: string;
  /** key -> accepted values (repeated key = OR; different keys = AND). */
  metadata: Map<string, string[]>;
  conflicts: string[];
  global: boolean;
}

/** fleet splits a value into whitespace-separated words, honouring double quotes. */
export function splitFleetValue(v: string): string[] {
  const out: string[] = [];
  const re = /"([^"]*)"|(\S+)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(v))) out.push(m[1] ?? m[2]);
  return out;
}

export function readXFleet(content: string): XFleet {
  const entries = parseUnitSections(content).get('X-Fleet') ?? [];
  const x: XFleet = { metadata: new Map(), conflicts: [], global: false };
  for (const [k, v] of entries) {
    switch (k) {
      case 'MachineID':
        x.machineId = v;
        break;
      case 'MachineMetadata':
        for (const pair of splitFleetValue(v)) {
          const eq = pair.indexOf('=');
          if (eq <= 0) continue;
          const key = pair.slice(0, eq);
          const list = x.metadata.get(key) ?? [];
          list.push(pair.slice(eq + 1));
          x.metadata.set(key, list);
        }
        break;
      case 'Conflicts':
        x.conflicts.push(...splitFleetValue(v));
        break;
      case 'Global':
        x.global = /^(true|yes|1|on)$/i.test(v);
        break;
    }
  }
  return x;
}
