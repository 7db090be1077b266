import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { type ServerProcess, startServerProcess } from '../../server/testing/server-process.ts';

// The whole product, end to end: the real server (embedded PGlite, or Postgres when DATABASE_URL is set)
// serving the built app, driven by a real Chromium.

const projectRoot = path.resolve(import.meta.dir, '../..');
const appBuildIndex = path.join(projectRoot, 'app/build/index.html');

let server: ServerProcess | undefined;
let dataDir: string | undefined;
let browser: Browser | undefined;
let baseUrl = '';

/** The nested list that holds an organization's children in the tree. */
function suborganizationsOf(page: Page, organizationName: string) {
  return page.getByRole('list', { name: `Suborganizations of ${organizationName}` });
}

beforeAll(async () => {
  if (!existsSync(appBuildIndex)) {
    // `bun run test` builds the app first; this keeps `bun test app/e2e` working on a fresh clone too.
    const build = Bun.spawnSync([process.execPath, 'run', 'build'], {
      cwd: path.join(projectRoot, 'app'),
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    if (build.exitCode !== 0) throw new Error('building the app failed');
  }

  // Embedded PGlite in a fresh folder, or Postgres when the run sets DATABASE_URL.
  dataDir = await mkdtemp(path.join(tmpdir(), 'wrapper-e2e-'));
  server = await startServerProcess({ DATA_DIR: dataDir });
  baseUrl = server.baseUrl;

  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
}, 30_000);

describe('signing up and building an organization tree', () => {
  test('a new customer signs up, creates "Sales" under the root organization, and it persists', async () => {
    if (!browser) throw new Error('the browser did not start');
    const page = await browser.newPage();
    const unique = `${Date.now()}-${Math.random().toString(36).slice(2, 8)}`;
    const rootOrganizationName = `Acme ${unique}`;

    await page.goto(`${baseUrl}/signup`);
    await page.getByLabel('Your name').fill('Ada Lovelace');
    await page.getByLabel('Work email').fill(`ada+${unique}@example.com`);
    await page.getByLabel('Password').fill('correct horse battery staple');
    await page.getByLabel('Organization name').fill(rootOrganizationName);
    await page.getByRole('button', { name: 'Create account' }).click();

    await page.waitForURL(`${baseUrl}/organizations`);
    const tree = page.getByRole('list', { name: 'Organization tree' });
    await tree.getByText(rootOrganizationName, { exact: true }).waitFor();
    await page.getByRole('banner').getByText(rootOrganizationName, { exact: true }).waitFor();

    const newOrganizationForm = page.getByRole('form', { name: 'New organization' });
    await newOrganizationForm.getByLabel('Organization name').fill('Sales');
    await newOrganizationForm.getByLabel('Parent organization').selectOption({ label: rootOrganizationName });
    await newOrganizationForm.getByRole('button', { name: 'Create organization' }).click();

    const sales = suborganizationsOf(page, rootOrganizationName).getByText('Sales', { exact: true });
    await sales.waitFor();
    expect(await sales.isVisible()).toBe(true);

    await page.reload();
    await suborganizationsOf(page, rootOrganizationName).getByText('Sales', { exact: true }).waitFor();
    expect(await tree.getByText('Sales', { exact: true }).count()).toBe(1);

    await page.close();
  }, 60_000);

  test('the API refuses an unauthenticated call with a 401 problem', async () => {
    const response = await fetch(`${baseUrl}/v1/organizations`);

    expect(response.status).toBe(401);
    expect(response.headers.get('content-type') ?? '').toContain('application/problem+json');
  });
});
