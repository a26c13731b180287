/**
 * `ggn secrets ...`: encrypted attribute files (SOPS format, age keys). No env needed.
 *
 *   ggn secrets keygen [-o <keys file>]             a new age identity (default: sops' keys file)
 *   ggn secrets encrypt <file> --age <recipient>...  encrypt a plaintext attribute file in place
 *   ggn secrets edit <file> [--age <recipient>...]   decrypt to a private temp file, $EDITOR, re-encrypt
 *   ggn secrets rotate <file> [--age <recipient>...] a new data key (and new recipients)
 */
import * as path from 'node:path';

import { editFile, editorCommand, encryptFile, keygen, rotateFile } from '../src/secrets/files-edit';
import { defaultKeysFile } from '../src/secrets/identities';
import { UsageError } from './globals';

export const SECRETS_HELP = `Usage:
  ggn secrets keygen [-o <keys file>]              a new age identity, appended to the keys file
                                                   (default: $XDG_CONFIG_HOME/sops/age/keys.txt or
                                                   ~/.config/sops/age/keys.txt); prints its recipient
  ggn secrets encrypt <file> --age <recipient>...  encrypt a plaintext attribute file in place (SOPS format)
  ggn secrets edit <file> [--age <recipient>...]   decrypt to a private temporary file, run $VISUAL/$EDITOR,
                                                   re-encrypt for the file's recipients (or the ones given)
  ggn secrets rotate <file> [--age <recipient>...] re-encrypt with a new data key (and new recipients)
Identities are found as sops finds them: SOPS_AGE_KEY, SOPS_AGE_KEY_FILE, the default keys file.
`;

interface Parsed {
  positional: string[];
  age: string[];
  output?: string;
}

function parse(args: string[]): Parsed {
  const out: Parsed = { positional: [], age: [] };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const value = (name: string) => {
      const eq = a.indexOf('=');
      if (eq > 0) return a.slice(eq + 1);
      if (i + 1 >= args.length) throw new UsageError(`${name} needs a value`);
      return args[++i];
    };
    if (a === '--age' || a.startsWith('--age='))
      out.age.push(
        ...value('--age')
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean),
      );
    else if (a === '-o' || a === '--output' || a.startsWith('--output=')) out.output = value('--output');
    else if (a.startsWith('-') && a !== '-') throw new UsageError(`unknown flag ${a} for ggn secrets`);
    else out.positional.push(a);
  }
  return out;
}

export async function runSecrets(args: string[], io: { out: NodeJS.WritableStream; err: NodeJS.WritableStream }): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === undefined || sub === 'help' || sub === '--help' || sub === '-h') {
    io.out.write(SECRETS_HELP);
    return sub === undefined ? 2 : 0;
  }
  const p = parse(rest);
  const oneFile = () => {
    if (p.positional.length !== 1) throw new UsageError(`ggn secrets ${sub} takes one file`);
    return path.resolve(p.positional[0]);
  };
  switch (sub) {
    case 'keygen': {
      if (p.positional.length) throw new UsageError('ggn secrets keygen takes no file (use -o)');
      const file = p.output ? path.resolve(p.output) : defaultKeysFile();
      const recipient = await keygen(file);
      io.err.write(`wrote a new age identity to ${file}\n`);
      io.out.write(`${recipient}\n`);
      return 0;
    }
    case 'encrypt': {
      const file = oneFile();
      if (!p.age.length) throw new UsageError('ggn secrets encrypt needs --age <recipient>');
      await encryptFile(file, p.age);
      io.err.write(`encrypted ${p.positional[0]} for ${p.age.join(', ')}\n`);
      return 0;
    }
    case 'edit': {
      const file = oneFile();
      const r = await editFile(file, editorCommand(), p.age);
      io.err.write(r.changed ? `encrypted ${p.positional[0]} for ${r.recipients.join(', ')}\n` : `${p.positional[0]}: no changes\n`);
      return 0;
    }
    case 'rotate': {
      const file = oneFile();
      const to = await rotateFile(file, p.age);
      io.err.write(`re-encrypted ${p.positional[0]} with a new data key for ${to.join(', ')}\n`);
      return 0;
    }
    default:
      throw new UsageError(`unknown secrets command "${sub}" (keygen, encrypt, edit, rotate)`);
  }
}
