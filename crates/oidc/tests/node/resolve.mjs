// Loads an npm package from the directory scripts/oidc-tools.sh installed (OIDC_NODE_DIR).
// ES modules ignore NODE_PATH, so resolve with a require rooted there and import by file URL.
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

export async function load(name) {
  const dir = process.env.OIDC_NODE_DIR;
  if (!dir) {
    console.error('OIDC_NODE_DIR is not set (run scripts/oidc-tools.sh)');
    process.exit(2);
  }
  const require = createRequire(path.join(dir, 'package.json'));
  return import(pathToFileURL(require.resolve(name)).href);
}
