/**
 * Unit files the way fleet sees them. fleetctl parses a unit file into options with go-systemd's
 * deserializer and fleet stores, compares and hashes the options re-serialized: sections in
 * order of first appearance, `Name=Value` lines, a blank line between sections. So comments,
 * blank lines and spacing around `=` do not count, while option order and `[X-Fleet]` lines do
 * (a change there makes fleet restart the unit: transcripts 04).
 */
import { createHash } from 'node:crypto';

export interface UnitOption {
  section: string;
  name: string;
  value: string;
}

/** go-systemd's unit.Deserialize: `#`/`;` comments, `[Section]`, `Name=Value`; a trailing `\` continues the value on the next line (kept as is). */
export function parseUnitFile(content: string): UnitOption[] {
  const out: UnitOption[] = [];
  const lines = content.split('\n');
  let section = '';
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].replace(/\r$/, '');
    const t = line.trim();
    if (t === '' || t.startsWith('#') || t.startsWith(';')) continue;
    const sec = /^\[([^\]]+)\]$/.exec(t);
    if (sec) {
      section = sec[1];
      continue;
    }
    const eq = line.indexOf('=');
    if (eq <= 0) continue;
    const name = line.slice(0, eq).trim();
    let value = line.slice(eq + 1);
    while (value.endsWith('\\') && i + 1 < lines.length && lines[i + 1].trim() !== '') value += '\n' + lines[++i].replace(/\r$/, '');
    out.push({ section, name, value: value.trim() });
  }
  return out;
}

/** go-systemd's unit.Serialize (what fleet writes on the host and hashes). */
export function serializeOptions(opts: { section?: string; name: string; value: string }[]): string {
  const sections: string[] = [];
  const idx = new Map<string, string[]>();
  for (const o of opts) {
    const s = o.section ?? '';
    if (!idx.has(s)) {
      sections.push(s);
      idx.set(s, []);
    }
    idx.get(s)!.push(`${o.name}=${o.value}\n`);
  }
  return sections.map((s) => `[${s}]\n${idx.get(s)!.join('')}`).join('\n');
}

/** The unit as fleet stores it: its options re-serialized. */
export function canonicalUnit(content: string): string {
  return serializeOptions(parseUnitFile(content));
}

/** fleet's unit hash (the `hash` of /state): sha1 of the serialized options. */
export function fleetHash(opts: { section?: string; name: string; value: string }[]): string {
  return createHash('sha1').update(serializeOptions(opts)).digest('hex');
}

export function isGlobal(opts: UnitOption[]): boolean {
  return opts.some((o) => o.section === 'X-Fleet' && o.name === 'Global' && o.value === 'true');
}

/** Service Type= ('simple' when unset), '' for other unit kinds. */
export function serviceType(unit: string, opts: UnitOption[]): string {
  if (!unit.endsWith('.service')) return '';
  return opts.filter((o) => o.section === 'Service' && o.name === 'Type').at(-1)?.value ?? 'simple';
}
