/**
 * Swagger UI in a real browser: Debian's Chromium (/usr/bin/chromium, never
 * a downloaded one) driven by playwright-core against the app listening on
 * 127.0.0.1. /docs lists the forward and backward operation of every
 * activation in the registry; gelu forward, expanded, "Try it out" with a
 * body of our own, Execute: the response body the page shows holds the core
 * kernel's numbers. A screenshot goes to test/artifacts/.
 *
 * Without /usr/bin/chromium the test is skipped with a notice (a newcomer's
 * machine); with REQUIRE_BROWSER=1 (set by .ci/run, which installs Chromium)
 * a missing browser is a failure.
 */
import { existsSync, mkdirSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activations, getActivation } from '../../src/core/activations/index.js';
import { runForward } from '../../src/core/batch.js';
import { build } from '../helpers/app.js';
import { contractViolations } from '../helpers/contract.js';

// CHROMIUM_PATH only to try the skip and the failure without uninstalling Chromium.
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARTIFACTS = new URL('../artifacts/', import.meta.url);
const required = process.env.REQUIRE_BROWSER === '1';
const available = existsSync(CHROMIUM);

if (!available && !required) {
  console.warn(
    `\n  ⚠ Skipping the Swagger UI browser test: ${CHROMIUM} is missing.\n` +
      '    Install Debian Chromium to run it (apt-get install -y chromium); .ci/run does, and sets REQUIRE_BROWSER=1.\n',
  );
}
const browserIt = available || required ? it : it.skip;

describe('Swagger UI at /docs, in Chromium', () => {
  let app: FastifyInstance;
  let browser: Browser | undefined;
  let base: string;

  beforeAll(async () => {
    if (!available) return;
    app = await build();
    await app.listen({ host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      // As root there is no sandbox; the network flags keep Chromium from calling out (the machine's network is closed).
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic', '--disable-dev-shm-usage'],
    });
  });
  afterAll(async () => {
    await browser?.close();
    await app?.close();
  });

  browserIt(
    'lists every operation, and "Try it out" on gelu forward shows the core kernel\'s numbers',
    async () => {
      expect(available, `${CHROMIUM} is missing and REQUIRE_BROWSER=1: install it with apt-get install -y chromium`).toBe(true);
      const page = await browser!.newPage({ viewport: { width: 1280, height: 900 } });
      const pageErrors: string[] = [];
      page.on('pageerror', (e) => pageErrors.push(e.message));
      await page.goto(`${base}/docs`);
      await page.waitForSelector('.opblock', { timeout: 45_000 });

      // Every activation's forward and backward operation is listed (ids carry the operationId).
      const ids = await page.$$eval('.opblock', (blocks) => blocks.map((b) => b.id));
      const missing = activations.flatMap((d) => [`${d.name}_forward`, `${d.name}_backward`]).filter((op) => !ids.includes(`operations-compute-${op}`));
      expect(missing).toEqual([]);
      for (const op of ['list_activations', 'get_activation', 'plot_activation']) expect(ids).toContain(`operations-catalog-${op}`);

      // gelu forward: expand, Try it out, our body, Execute.
      const block = page.locator('#operations-compute-gelu_forward');
      await block.locator('.opblock-summary').first().click();
      await block.locator('.try-out__btn').click();
      const inputs = [
        [-1.5, 0, 2.25],
        [3, -4, 0.5],
      ];
      await block.locator('textarea.body-param__text').fill(JSON.stringify({ inputs, params: { approximate: 'none' } }));
      await block.locator('button.execute').click();
      const shown = block.locator('.live-responses-table .response-col_description .microlight').first();
      await shown.waitFor({ timeout: 30_000 });
      expect((await block.locator('.live-responses-table .response .response-col_status').first().innerText()).trim()).toBe('200');
      const body = JSON.parse(await shown.innerText());

      const gelu = getActivation('gelu')!;
      const want = runForward(gelu, { x: Float64Array.from(inputs.flat()), rows: 2, cols: 3, params: gelu.params.parse({ approximate: 'none' }), dtype: 'float64' });
      expect(body.shape).toEqual([2, 3]);
      expect(body.outputs).toEqual([Array.from(want.out.subarray(0, 3)), Array.from(want.out.subarray(3))]);

      mkdirSync(ARTIFACTS, { recursive: true });
      await block.screenshot({ path: new URL('swagger-ui-gelu-forward.png', ARTIFACTS).pathname });
      expect(pageErrors).toEqual([]);
      // The request the page made, answered on a real socket, conforms to openapi/openapi.json.
      expect(contractViolations(app)).toEqual([]);
      await page.close();
    },
    120_000,
  );
});
