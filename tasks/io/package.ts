import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

// The chatcast checkout or installed package (dist/io/ and tasks/io/ are both two levels down):
// where the .venv, dvc.yaml and params.yaml templates live.
export const PACKAGE_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
