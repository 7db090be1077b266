import { afterAll, beforeAll } from 'bun:test';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { startServerProcess } from '../../server/testing/server-process.ts';

// The whole product, end to end: the real server (embedded PGlite, or Postgres when DATABASE_URL is set)
// serving the built app, driven by a real Chromium.

const projectRoot = path.resolve(import.meta.dir, '../..');
const appBuildIndex = path.join(projectRoot, 'app/build/index.html');

export interface RunningProduct {
  baseUrl: string;
  browser: Browser;
  stop(): Promise<void>;
}

export interface ProductOptions {
  /** More environment for the server, e.g. its OpenID Connect providers. */
  env?: Record<string, string>;
  /**
   * The port to listen on, picked beforehand with `freePort()`: for settings that must name the server's
   * URL before it starts (a provider's redirect URI). `APP_URL` is then that URL, {@link productUrl}.
   */
  port?: number;
}

/** The address the server answers at on `port`; `baseUrl` of the running product. */
export function productUrl(port: number): string {
  return `http://127.0.0.1:${port}`;
}

/**
 * Builds the app if needed, starts the server on a fresh data folder (with `options.env`, on
 * `options.port` when given) and launches Chromium.
 */
export async function startProduct(options: ProductOptions = {}): Promise<RunningProduct> {
  if (!existsSync(appBuildIndex)) {
    // `bun run test` builds the app first; this keeps `bun test app/e2e` working on a fresh clone too.
    const build = Bun.spawnSync([process.execPath, 'run', 'build'], {
      cwd: path.join(projectRoot, 'app'),
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    if (build.exitCode !== 0) throw new Error('building the app failed');
  }

  const dataDir = await mkdtemp(path.join(tmpdir(), 'wrapper-e2e-'));
  const appUrl = options.port === undefined ? {} : { APP_URL: productUrl(options.port) };
  // With REDIS_URL every test file's server counts sign-ins per client address in the same Redis, and every
  // browser here is 127.0.0.1: together the files would pass the per-minute limit meant for one client.
  const sharedCounters = process.env.REDIS_URL ? { RATE_LIMIT_AUTH_PER_MINUTE: '0' } : {};
  const server = await startServerProcess(
    { ...appUrl, ...sharedCounters, ...options.env, DATA_DIR: dataDir },
    { port: options.port },
  );
  const browser = await chromium.launch({
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
  return {
    baseUrl: server.baseUrl,
    browser,
    async stop() {
      await browser.close();
      await server.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** What a test file starts before the product, and the product's options that depend on it. */
export interface ProductSetup<Extra extends object> {
  options?: ProductOptions;
  /** What the tests use beside the product (a local provider, say): part of what `running()` answers. */
  extra: Extra;
}

/**
 * Registers the file's hooks that start the product before its tests (see {@link startProduct}) and stop it
 * after them, and answers `running()`: the started product, or an error when it did not start.
 *
 * `setup` is the product's options, or a function that first starts what the server depends on and answers
 * them with the extras for the tests. It hands `onStop` what stops those again: they run after the product
 * stops, in the order given, also when starting failed half-way.
 */
export function useProduct<Extra extends object = Record<never, never>>(
  setup: ProductOptions | ((onStop: (stop: () => unknown) => void) => Promise<ProductSetup<Extra>>) = {},
): () => RunningProduct & Extra {
  let product: (RunningProduct & Extra) | undefined;
  const stops: Array<() => unknown> = [];

  beforeAll(async () => {
    const { options, extra } =
      typeof setup === 'function'
        ? await setup((stop) => stops.push(stop))
        : { options: setup, extra: {} as Extra };
    product = { ...(await startProduct(options)), ...extra };
  }, 120_000);

  afterAll(async () => {
    await product?.stop();
    for (const stop of stops) await stop();
  }, 30_000);

  return () => {
    if (!product) throw new Error('the product did not start');
    return product;
  };
}

/** A name no other test run has used, for emails and tenant names. */
export function uniqueSuffix(): string {
  return `${Date.now()}-${Math.random().toString(36).slice(2, 8)}`;
}

/** Signs up through the form and waits for the first page of the app (the dashboard). */
export async function signUpThroughTheApp(
  page: Page,
  baseUrl: string,
  account: { name: string; email: string; organizationName: string },
): Promise<void> {
  await page.goto(`${baseUrl}/signup`);
  await page.getByLabel('Your name').fill(account.name);
  await page.getByLabel('Work email').fill(account.email);
  await page.getByLabel('Password').fill('correct horse battery staple');
  await page.getByLabel('Organization name').fill(account.organizationName);
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.waitForURL(`${baseUrl}/dashboard`);
}

interface MailboxItem {
  to: string;
  subject: string;
  text: string;
}

/**
 * The newest link to `pathname` (e.g. `/verify-email`) mailed to `email`, read from the dev mailbox: its
 * path and query, to open on `baseUrl` (the mail names the server's configured `APP_URL`).
 */
export async function mailedLinkTo(baseUrl: string, email: string, pathname: string): Promise<string> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const response = await fetch(`${baseUrl}/v1/dev/mailbox?limit=100`);
    if (response.status !== 200) throw new Error(`the dev mailbox answered ${response.status}`);
    const { items } = (await response.json()) as { items: MailboxItem[] };
    // Newest first: the first matching link is the one that still works.
    for (const item of items) {
      if (item.to !== email) continue;
      for (const [link] of item.text.matchAll(/https?:\/\/[^\s"'<>]+/g)) {
        const url = new URL(link);
        if (url.pathname === pathname) return `${url.pathname}${url.search}`;
      }
    }
    await Bun.sleep(100);
  }
  throw new Error(`no mail with a ${pathname} link reached ${email}`);
}

/** The invitation token from the newest mail to `email` in the dev mailbox. */
export async function invitationTokenFor(baseUrl: string, email: string): Promise<string> {
  const link = await mailedLinkTo(baseUrl, email, '/invitations/accept');
  const token = new URL(link, baseUrl).searchParams.get('token');
  if (!token) throw new Error(`the invitation mail to ${email} has a link without a token`);
  return token;
}

/** Invites `email` with `role` from the members page (the inviting person must be able to invite). */
export async function inviteThroughTheApp(
  page: Page,
  baseUrl: string,
  invitee: { email: string; role: string },
): Promise<void> {
  if (!page.url().startsWith(`${baseUrl}/members`)) {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Members' }).click();
    await page.waitForURL(`${baseUrl}/members`);
  }
  const inviteForm = page.getByRole('form', { name: 'Invite people' });
  await inviteForm.getByLabel('Email address').fill(invitee.email);
  await inviteForm.getByLabel('Role', { exact: true }).selectOption({ label: invitee.role });
  await inviteForm.getByRole('button', { name: 'Send invitation' }).click();
  await inviteForm.getByText(`Invitation sent to ${invitee.email}.`).waitFor();
}

/** Follows a link of the main navigation and waits for its page. */
export async function goToSection(page: Page, baseUrl: string, label: string, path: string): Promise<void> {
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: label }).click();
  await page.waitForURL(`${baseUrl}${path}`);
}

/**
 * Opens the invitation mailed to `email` as a person new to Wrapper, and waits for the first page (the
 * dashboard).
 */
export async function joinAsNewPerson(
  page: Page,
  baseUrl: string,
  invitee: { email: string; name: string },
): Promise<void> {
  const token = await invitationTokenFor(baseUrl, invitee.email);
  await page.goto(`${baseUrl}/invitations/accept?token=${encodeURIComponent(token)}`);
  await page.getByRole('tab', { name: /I.m new/ }).click();
  await page.getByLabel('Your name').fill(invitee.name);
  await page.getByLabel('Choose a password').fill('correct horse battery staple');
  await page.getByRole('button', { name: 'Create account and join' }).click();
  await page.waitForURL(`${baseUrl}/dashboard`);
}

/** A browser context with a fixed locale, so numbers read `1,000` whatever the machine's settings. */
export async function newPage(browser: Browser): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'en-US' });
  return context.newPage();
}

export async function accessTokenOf(page: Page): Promise<string> {
  const token = await page.evaluate(() => localStorage.getItem('wrapper.accessToken'));
  if (!token) throw new Error('the page is not signed in');
  return token;
}

/** Calls the API as an integration would, with the person's token, and answers the status and body. */
export async function callApi(
  baseUrl: string,
  token: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${baseUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

export async function liveUpdatesConnected(page: Page): Promise<void> {
  await page.getByRole('banner').getByRole('status', { name: 'Live updates: connected' }).waitFor();
}

/** Marks the page's JavaScript context: the mark survives anything but a reload. */
export async function markPage(page: Page): Promise<void> {
  await page.evaluate(() => {
    (window as unknown as { notReloaded?: boolean }).notReloaded = true;
  });
}

export async function stillTheSamePage(page: Page): Promise<boolean> {
  return page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded === true);
}

/** Waits until the page's balance reads `text` (as formatted, e.g. `1,000`). */
export async function balanceReads(page: Page, text: string): Promise<void> {
  await page.getByRole('region', { name: 'Credit balance' }).getByText(text, { exact: true }).waitFor();
}
