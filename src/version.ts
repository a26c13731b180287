/** This ggn's version: package.json's (one owner for `ggn version`, ggnMinimalVersion and plan files). */
import * as path from 'node:path';

let version: string | undefined;

export function ggnVersion(): string {
  return (version ??= (require(path.resolve(__dirname, '..', '..', 'package.json')) as { version: string }).version);
}
