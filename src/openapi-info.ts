import { readFileSync } from 'node:fs';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };

export const openapiInfo = {
  title: 'activation-service',
  version: pkg.version,
  description: [
    'Neural-network activation functions, forward and backward, over batches of vectors,',
    'correctly rounded to within a few units in the last place in float64 and float32.',
    '',
    'Numbers travel as JSON numbers; NaN and infinities as the strings "NaN", "Infinity", "-Infinity".',
    'Every error is application/problem+json (RFC 9457).',
  ].join('\n'),
  license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
};
