/**
 * `containers:` of a service manifest, resolved offline against the ACI and pod manifests given
 * with `-M` (GGN's rules): a pod container (`<domain>/pod-<x>` without `_`) becomes its apps, an
 * ACI with a local manifest takes that manifest's version, otherwise an explicit `:version` is
 * used as written. GGN fell back to network discovery; ggn never reaches the network for this
 * and asks for a version or a manifest instead.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { GgnError } from '../errors';

interface Label {
  name: string;
  value: string;
}
interface AciManifest {
  file: string;
  name: string;
  version: string;
}
interface PodManifest {
  file: string;
  apps: { name: string; version: string }[];
}

export interface LocalManifests {
  acis: Map<string, AciManifest>;
  pods: PodManifest[];
}

export function loadLocalManifests(list: string | undefined, cwd = process.cwd()): LocalManifests {
  const out: LocalManifests = { acis: new Map(), pods: [] };
  if (!list) return out;
  for (const rel of list
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const file = path.resolve(cwd, rel);
    let json: any;
    try {
      json = JSON.parse(fs.readFileSync(file, 'utf8'));
    } catch (e) {
      const msg = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
      throw new GgnError(`cannot read manifest given with -M: ${msg}`, { file });
    }
    if (json?.acKind === 'PodManifest') {
      const apps = Array.isArray(json.apps) ? json.apps : [];
      out.pods.push({ file, apps: apps.map((a: any) => ({ name: String(a?.image?.name ?? ''), version: versionOf(a?.image?.labels, file) })) });
    } else if (json?.acKind === 'ImageManifest') {
      if (typeof json.name !== 'string') throw new GgnError('ACI manifest has no name', { file });
      out.acis.set(json.name, { file, name: json.name, version: versionOf(json.labels, file) });
    } else {
      throw new GgnError('not an ACI or pod manifest (acKind must be ImageManifest or PodManifest)', { file });
    }
  }
  return out;
}

function versionOf(labels: Label[] | undefined, file: string): string {
  const v = (labels ?? []).find((l) => l?.name === 'version')?.value;
  if (typeof v !== 'string') throw new GgnError('manifest has no "version" label', { file });
  return v;
}

export function resolveContainers(containers: string[], local: LocalManifests, file: string): string[] {
  const out: string[] = [];
  for (const c of containers) {
    const slash = c.indexOf('/');
    const colon = c.indexOf(':', slash + 1);
    const name = colon >= 0 ? c.slice(0, colon) : c;
    const short = name.slice(slash + 1);
    if (short.startsWith('pod-') && !short.includes('_')) {
      const pod = local.pods.find((p) => p.apps.length > 0 && p.apps.every((a) => a.name.startsWith(name + '_')));
      if (pod) {
        for (const app of pod.apps) out.push(`${app.name}:${app.version}`);
        continue;
      }
    }
    const aci = local.acis.get(name);
    if (aci) out.push(`${aci.name}:${aci.version}`);
    else if (colon >= 0) out.push(c);
    else {
      throw new GgnError(`container "${c}" has no version: write "${c}:<version>" or pass its manifest with -M (ggn does no network discovery)`, { file });
    }
  }
  return out;
}
