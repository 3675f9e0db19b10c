/**
 * npm run openapi:generate  writes openapi/openapi.json from the app.
 * npm run openapi:check     fails when the committed file is stale or invalid.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { COMMITTED_PATH, generateDocument, validateDocument } from './document.js';

const mode = process.argv[2];
if (mode !== '--write' && mode !== '--check') {
  process.stderr.write('usage: generate.ts --write | --check\n');
  process.exit(2);
}

const generated = await generateDocument();
const validation = await validateDocument(generated);
if (!validation.valid) {
  process.stderr.write(`The generated OpenAPI document is invalid:\n  ${validation.errors.join('\n  ')}\n`);
  process.exit(1);
}

if (mode === '--write') {
  await writeFile(COMMITTED_PATH, generated);
  process.stdout.write('openapi/openapi.json written and valid (OpenAPI 3.1)\n');
} else {
  const committed = await readFile(COMMITTED_PATH, 'utf8').catch(() => '');
  if (committed !== generated) {
    process.stderr.write('openapi/openapi.json is stale: run `npm run openapi:generate` and commit the result.\n');
    process.exit(1);
  }
  process.stdout.write('openapi/openapi.json is up to date and valid (OpenAPI 3.1)\n');
}
