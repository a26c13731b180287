/**
 * Encrypted attribute files: a file with a top-level `sops:` map is decrypted with the user's age
 * identities when it is read, its MAC checked, and each decrypted value registered as a secret.
 * A file that cannot be decrypted is one line naming the file, its recipients and where ggn
 * looked for identities; nothing is rendered from it.
 */
import { GgnError } from '../errors';
import { GoMap, GoValue } from '../template/values';
import type { SopsLeaf } from './sops';

// Loaded on the first encrypted file only: the decryption thread and SOPS code pull in
// worker_threads and crypto, which cost every `generate` of a plain tree a few ms at start-up.
const lazy = () => ({
  ...(require('./decrypt-sync') as typeof import('./decrypt-sync')),
  ...(require('./identities') as typeof import('./identities')),
  ...(require('./registry') as typeof import('./registry')),
  ...(require('./sops') as typeof import('./sops')),
});

/** Is this parsed attribute file a SOPS file? */
export function isSopsData(data: GoMap): boolean {
  const s = data.sops;
  return s !== null && typeof s === 'object' && !Array.isArray(s) && 'mac' in (s as object) && 'lastmodified' in (s as object);
}

function toGo(l: SopsLeaf): GoValue {
  return l.value;
}

/** Decrypts `data` (parsed from `text`) in place, registers its secrets, and returns it. */
export function decryptAttributeData(text: string, data: GoMap, file: string): GoMap {
  const { decryptSopsSync, findIdentities, pathName, recipientsOf, secretRegistry } = lazy();
  const ids = findIdentities();
  let leaves: SopsLeaf[];
  try {
    leaves = decryptSopsSync(text, ids.keys).leaves;
  } catch (e) {
    const recipients = recipientsOf(text);
    const where = ids.keys.length
      ? `${ids.keys.length} age identit${ids.keys.length === 1 ? 'y' : 'ies'} from ${ids.looked.join(', ')}`
      : `no age identity in ${ids.looked.join(', ')}`;
    const problems = ids.problems.length ? `; ${ids.problems.join('; ')}` : '';
    throw new GgnError(`cannot decrypt (${(e as Error).message}); recipients: ${recipients.join(', ') || 'none'}; ${where}${problems}`, { file });
  }
  delete data.sops;
  for (const l of leaves) {
    setIn(data, l.location, toGo(l));
    const section = l.location[0];
    if (l.encrypted && (section === 'default' || section === 'override') && l.location.length > 1) {
      const path = l.location.slice(1);
      secretRegistry.add({ name: pathName(path), path, value: l.value, file });
    }
  }
  return data;
}

function setIn(root: GoMap, location: (string | number)[], v: GoValue): void {
  let cur: GoValue = root;
  for (let i = 0; i < location.length - 1; i++) {
    const k = location[i];
    cur = (cur as Record<string | number, GoValue>)[k];
    if (cur === null || typeof cur !== 'object') return;
  }
  (cur as Record<string | number, GoValue>)[location[location.length - 1]] = v;
}
