import { distance } from 'fastest-levenshtein';
import { activationNames } from '../core/activations/index.js';
import { ProblemError } from '../errors.js';

/** The known names closest to `name`: near in edit distance, or sharing a prefix. */
export function closestNames(name: string, limit = 3): string[] {
  const wanted = name.toLowerCase().replace(/-/g, '_');
  return activationNames
    .map((n) => ({ n, d: n.startsWith(wanted) || wanted.startsWith(n) ? 0.5 : distance(wanted, n) }))
    .filter(({ d, n }) => d <= Math.max(2, Math.floor(n.length / 3)))
    .sort((a, b) => a.d - b.d || a.n.localeCompare(b.n))
    .slice(0, limit)
    .map(({ n }) => n);
}

export function unknownActivation(name: string): ProblemError {
  const suggestions = closestNames(name);
  const hint = suggestions.length > 0 ? ` Did you mean ${suggestions.map((s) => `"${s}"`).join(', ')}?` : '';
  return new ProblemError(
    'ACT_ERR_UNKNOWN_ACTIVATION',
    `There is no activation "${name}".${hint} GET /v1/activations lists them all.`,
    { suggestions },
  );
}
