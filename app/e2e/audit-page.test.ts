import { describe, expect, test } from 'bun:test';
import { readFile } from 'node:fs/promises';
import type { Download, Locator, Page } from 'playwright-core';
import postgres from 'postgres';
import {
  accessTokenOf,
  callApi,
  goToSection,
  inviteThroughTheApp,
  joinAsNewPerson,
  liveUpdatesConnected,
  markPage,
  newPage,
  signUpThroughTheApp,
  stillTheSamePage,
  uniqueSuffix,
  useProduct,
} from './harness.ts';

// The tenant's audit page: entries recorded in another browser context appear on the open page through
// the audit channel; filters and search narrow it and live in the URL; exports carry the shown entries;
// the chain badge runs the server's verification. People without audit:read, and other tenants, see none of it.

const running = useProduct();
const password = 'correct horse battery staple';

/** The entries' rows (an expanded entry's details row is not one). */
function entryRows(page: Page): Locator {
  return page.getByRole('table', { name: 'Audit entries' }).locator('tbody tr[data-entry-id]');
}

function rowOf(page: Page, action: string, text: string): Locator {
  return entryRows(page).filter({ hasText: action }).filter({ hasText: text });
}

async function shownEntryIds(page: Page): Promise<string[]> {
  return entryRows(page).evaluateAll((rows) => rows.map((row) => row.getAttribute('data-entry-id') ?? ''));
}

/** The shown actions, top to bottom. */
async function shownActions(page: Page): Promise<string[]> {
  return entryRows(page).evaluateAll((rows) =>
    rows.map((row) => row.querySelector('td:nth-child(2) p')?.textContent?.trim() ?? ''),
  );
}

/** Waits until the list holds exactly `count` entries. */
async function rowCountIs(page: Page, count: number): Promise<void> {
  await page.waitForFunction(
    (expected) =>
      document.querySelectorAll('table[aria-label="Audit entries"] tbody tr[data-entry-id]').length ===
      expected,
    count,
  );
}

async function auditPageLive(page: Page): Promise<void> {
  await page.getByRole('main').getByRole('status', { name: 'Live updates: connected' }).waitFor();
}

async function signInThroughTheApp(page: Page, baseUrl: string, email: string): Promise<void> {
  await page.goto(`${baseUrl}/login`);
  const form = page.getByRole('form', { name: 'Sign in' });
  await form.getByLabel('Email').fill(email);
  await form.getByLabel('Password').fill(password);
  await form.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${baseUrl}/dashboard`);
}

async function createOrganization(page: Page, baseUrl: string, name: string): Promise<void> {
  if (!page.url().startsWith(`${baseUrl}/organizations`))
    await goToSection(page, baseUrl, 'Organizations', '/organizations');
  const form = page.getByRole('form', { name: 'New organization' });
  await form.getByLabel('Organization name').fill(name);
  await form.getByRole('button', { name: 'Create organization' }).click();
  await form.getByText(`${name} was created.`).waitFor();
}

async function downloadText(page: Page, button: string): Promise<{ name: string; text: string }> {
  const [download] = (await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('button', { name: button }).click(),
  ])) as [Download, unknown];
  const path = await download.path();
  return { name: download.suggestedFilename(), text: await readFile(path, 'utf8') };
}

describe('the audit page', () => {
  test('an owner sees changes made in another context live, filters and searches, exports and verifies', async () => {
    const { baseUrl, browser } = running();
    const unique = uniqueSuffix();
    const email = `ada+${unique}@example.com`;
    const workspaceName = `Analytical ${unique}`;
    const page = await newPage(browser);
    await signUpThroughTheApp(page, baseUrl, {
      name: 'Ada Lovelace',
      email,
      organizationName: workspaceName,
    });

    // The owner has audit:read: the section is in the navigation, and the sign-up is the first entry.
    await goToSection(page, baseUrl, 'Audit', '/audit');
    await rowOf(page, 'user.signed_up', 'Ada Lovelace').waitFor();
    await rowOf(page, 'user.signed_up', 'A person signed up, creating a tenant.').waitFor();
    await liveUpdatesConnected(page);
    await auditPageLive(page);
    await markPage(page);

    // The same owner, signed in in another browser context, changes things: the entries appear here.
    const other = await newPage(browser);
    await signInThroughTheApp(other, baseUrl, email);
    await rowOf(page, 'session.signed_in', 'Ada Lovelace').waitFor();
    await createOrganization(other, baseUrl, `Research ${unique}`);
    await rowOf(page, 'organization.created', `Research ${unique}`).waitFor();
    // Newest first: the live entry went above the loaded ones.
    const actions = await shownActions(page);
    expect(actions.indexOf('organization.created')).toBeLessThan(actions.indexOf('user.signed_up'));

    const renamed = `Initrode ${unique}`;
    await goToSection(other, baseUrl, 'Settings', '/settings');
    await other.getByLabel('Workspace name').fill(renamed);
    await other.getByRole('button', { name: 'Save changes' }).click();
    await other.getByText('Settings saved.').waitFor();
    const renameRow = rowOf(page, 'tenant.updated', renamed);
    await renameRow.waitFor();

    // Expanding the entry shows its context and what changed.
    await renameRow.getByRole('button', { name: /^Show details of tenant\.updated/ }).click();
    const details = page.getByRole('group', { name: /^Details of tenant\.updated/ });
    await details.waitFor();
    const changes = details.getByRole('table', { name: 'Changes' });
    await changes.getByRole('row').filter({ hasText: workspaceName }).filter({ hasText: renamed }).waitFor();
    expect(await details.getByText('127.0.0.1').count()).toBeGreaterThan(0);
    expect(await details.getByText('HeadlessChrome', { exact: false }).count()).toBe(1);
    expect(await stillTheSamePage(page)).toBe(true);

    // No entry shows twice, live or loaded (the page's own reads are recorded too).
    const ids = await shownEntryIds(page);
    expect(new Set(ids).size).toBe(ids.length);

    // Filtering by action narrows the list, and the URL says so.
    await page.getByLabel('Action', { exact: true }).selectOption('organization.created');
    await page.waitForURL(`${baseUrl}/audit?action=organization.created`);
    await rowCountIs(page, 1);
    expect(await shownActions(page)).toEqual(['organization.created']);

    // A new entry matching the filters arrives live; the page's own reads (audit.read) do not match.
    await createOrganization(other, baseUrl, `Laboratory ${unique}`);
    await rowOf(page, 'organization.created', `Laboratory ${unique}`).waitFor();
    await rowCountIs(page, 2);
    expect(await shownActions(page)).toEqual(['organization.created', 'organization.created']);
    expect(await stillTheSamePage(page)).toBe(true);

    // Search narrows it further.
    await page.getByRole('searchbox', { name: 'Search' }).fill('research');
    await page.getByRole('searchbox', { name: 'Search' }).press('Enter');
    await page.waitForURL(`${baseUrl}/audit?action=organization.created&q=research`);
    await rowCountIs(page, 1);
    await rowOf(page, 'organization.created', `Research ${unique}`).waitFor();

    // The URL is the view: opened elsewhere, it shows the same entries with the same filters.
    const shared = await other.context().newPage();
    await shared.goto(`${baseUrl}/audit?action=organization.created&q=research`);
    await rowCountIs(shared, 1);
    await rowOf(shared, 'organization.created', `Research ${unique}`).waitFor();
    expect(await shared.getByLabel('Action', { exact: true }).inputValue()).toBe('organization.created');
    expect(await shared.getByRole('searchbox', { name: 'Search' }).inputValue()).toBe('research');
    await shared.close();

    // Exports carry the filters: the file's lines are the listed entries.
    await page.getByRole('searchbox', { name: 'Search' }).fill('');
    await page.getByRole('searchbox', { name: 'Search' }).press('Enter');
    await page.waitForURL(`${baseUrl}/audit?action=organization.created`);
    await rowCountIs(page, 2);
    const listed = await shownEntryIds(page);
    const ndjson = await downloadText(page, 'Export NDJSON');
    expect(ndjson.name.endsWith('.ndjson')).toBe(true);
    const lines = ndjson.text
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as { id: string; action: string; seq: number; hash: string });
    // Oldest first in the file, newest first on the page.
    expect(lines.map((line) => line.id)).toEqual([...listed].reverse());
    expect(
      lines.every((line) => line.action === 'organization.created' && /^[0-9a-f]{64}$/.test(line.hash)),
    ).toBe(true);
    const csv = await downloadText(page, 'Export CSV');
    expect(csv.name.endsWith('.csv')).toBe(true);
    const csvLines = csv.text.split(/\r?\n/).filter((line) => line !== '');
    expect(csvLines).toHaveLength(1 + listed.length);
    for (const id of listed) expect(csv.text).toContain(id);

    // The chain: intact, attested by no checkpoint yet; signed now, it is verified up to that checkpoint.
    const chain = page.getByRole('region', { name: 'Chain verification' });
    await chain.getByText(/^No checkpoint yet: \d+ entries chain correctly$/).waitFor();
    await chain.getByRole('button', { name: 'Sign a checkpoint now' }).click();
    const verified = chain.getByRole('status').filter({ hasText: /Chain verified up to checkpoint #\d+ \(/ });
    await verified.waitFor();
    const signed = await callApi(
      baseUrl,
      await accessTokenOf(page),
      'GET',
      '/v1/audit-logs/checkpoints?limit=1',
    );
    const [newest] = signed.body.items as Array<{ seq: number }>;
    expect(await verified.textContent()).toContain(`checkpoint #${newest?.seq} (`);
    expect(await chain.getByRole('alert').count()).toBe(0);

    // The form refuses a window that ends before it starts, without asking the server.
    await page.getByLabel('To', { exact: true }).fill('2025-06-01T00:00');
    const windowEnd = encodeURIComponent(new Date(2025, 5, 1).toISOString());
    await page.waitForURL(`${baseUrl}/audit?action=organization.created&to=${windowEnd}`);
    await page.getByText('No entries match the filters.').waitFor();
    await page.getByLabel('From', { exact: true }).fill('2025-06-02T00:00');
    await page.getByText('Must not be after “To”.').waitFor();
    await Bun.sleep(500);
    expect(page.url()).toBe(`${baseUrl}/audit?action=organization.created&to=${windowEnd}`);

    // A filter the server refuses (a link edited by hand) shows its problem, and the page stays usable.
    await page.goto(`${baseUrl}/audit?action=no.such.action`);
    const problem = page.getByRole('main').getByRole('alert').filter({ hasText: 'The request is not valid' });
    await problem.waitFor();
    await page.getByRole('button', { name: 'Clear filters' }).click();
    await page.waitForURL(`${baseUrl}/audit`);
    await rowOf(page, 'user.signed_up', 'Ada Lovelace').waitFor();
    await problem.waitFor({ state: 'detached' });

    await other.context().close();
    await page.context().close();
  }, 180_000);

  test('a member without audit:read is refused, and another tenant’s entries never appear', async () => {
    const { baseUrl, browser } = running();
    const unique = uniqueSuffix();
    const owner = await newPage(browser);
    await signUpThroughTheApp(owner, baseUrl, {
      name: 'Peter Gibbons',
      email: `peter+${unique}@example.com`,
      organizationName: `Initech ${unique}`,
    });
    const memberEmail = `bob+${unique}@example.com`;
    await inviteThroughTheApp(owner, baseUrl, { email: memberEmail, role: 'Member' });
    await goToSection(owner, baseUrl, 'Audit', '/audit');
    await rowOf(owner, 'invitation.created', 'invitation').waitFor();
    await auditPageLive(owner);
    await markPage(owner);

    // Bob joins as a member: his joining reaches the owner's open audit page.
    const member = await newPage(browser);
    await joinAsNewPerson(member, baseUrl, { email: memberEmail, name: 'Bob Porter' });
    await rowOf(owner, 'invitation.accepted', 'Bob Porter').waitFor();

    // Members hold no audit:read: no Audit in their navigation, and the page refuses them.
    const memberNavigation = member.getByRole('navigation', { name: 'Main' });
    await memberNavigation.getByRole('link', { name: 'Organizations' }).waitFor();
    expect(await memberNavigation.getByRole('link', { name: 'Audit' }).count()).toBe(0);
    await member.goto(`${baseUrl}/audit`);
    await member.getByRole('heading', { name: 'You do not have access to this page' }).waitFor();
    expect(await member.getByRole('table', { name: 'Audit entries' }).count()).toBe(0);

    // Another tenant signs up and makes changes; its owner sees only its own trail.
    const stranger = await newPage(browser);
    await signUpThroughTheApp(stranger, baseUrl, {
      name: 'Carol Umbrella',
      email: `carol+${unique}@example.com`,
      organizationName: `Umbrella ${unique}`,
    });
    await createOrganization(stranger, baseUrl, `Hive ${unique}`);
    await goToSection(stranger, baseUrl, 'Audit', '/audit');
    await rowOf(stranger, 'organization.created', `Hive ${unique}`).waitFor();
    expect(
      await stranger.getByRole('table', { name: 'Audit entries' }).getByText('Peter Gibbons').count(),
    ).toBe(0);
    expect(await stranger.getByRole('table', { name: 'Audit entries' }).getByText('Bob Porter').count()).toBe(
      0,
    );

    // A change in the first tenant after all of that (through the API) reaches the owner's open page;
    // nothing of the other tenant came with it or before it.
    const created = await callApi(baseUrl, await accessTokenOf(owner), 'POST', '/v1/organizations', {
      name: `Marker ${unique}`,
    });
    expect(created.status).toBe(201);
    await rowOf(owner, 'organization.created', `Marker ${unique}`).waitFor();
    expect(await stillTheSamePage(owner)).toBe(true);
    const ownerTable = owner.getByRole('table', { name: 'Audit entries' });
    expect(await ownerTable.getByText('Carol Umbrella').count()).toBe(0);
    expect(await ownerTable.getByText(`Hive ${unique}`).count()).toBe(0);
    expect(await ownerTable.getByText(`Umbrella ${unique}`).count()).toBe(0);

    // A long trail comes in pages: the first fifty, then "Load more" pages on by cursor, each entry once.
    const ownerToken = await accessTokenOf(owner);
    for (let index = 1; index <= 55; index++) {
      const response = await callApi(baseUrl, ownerToken, 'POST', '/v1/organizations', {
        name: `Branch ${index} ${unique}`,
      });
      expect(response.status).toBe(201);
    }
    await owner.goto(`${baseUrl}/audit?action=organization.created`);
    await rowOf(owner, 'organization.created', `Branch 55 ${unique}`).waitFor();
    await rowCountIs(owner, 50);
    await owner.getByRole('button', { name: 'Load more' }).click();
    // The 55 branches and the marker (the root organization came with user.signed_up).
    await rowCountIs(owner, 56);
    await rowOf(owner, 'organization.created', `Marker ${unique}`).waitFor();
    expect(await owner.getByRole('button', { name: 'Load more' }).count()).toBe(0);
    const ids = await shownEntryIds(owner);
    expect(new Set(ids).size).toBe(56);

    await stranger.context().close();
    await member.context().close();
    await owner.context().close();
  }, 180_000);

  // On PGlite the database lives inside the server's process; on Postgres the test can reach it as its
  // owner, as someone tampering with the trail would.
  test.skipIf(!process.env.DATABASE_URL)(
    'an entry changed in the database behind the application turns the badge red, naming it',
    async () => {
      const { baseUrl, browser } = running();
      const unique = uniqueSuffix();
      const page = await newPage(browser);
      await signUpThroughTheApp(page, baseUrl, {
        name: 'Grace Hopper',
        email: `grace+${unique}@example.com`,
        organizationName: `Navy ${unique}`,
      });
      await goToSection(page, baseUrl, 'Audit', '/audit');
      const chain = page.getByRole('region', { name: 'Chain verification' });
      await chain.getByRole('button', { name: 'Sign a checkpoint now' }).click();
      await chain
        .getByRole('status')
        .filter({ hasText: /Chain verified up to checkpoint #\d+/ })
        .waitFor();

      const me = await callApi(baseUrl, await accessTokenOf(page), 'GET', '/v1/me');
      const tenantId = (me.body.tenant as { id: string }).id;
      const owner = postgres(process.env.DATABASE_URL ?? '', { max: 1, onnotice: () => {} });
      let tamperedId: string;
      try {
        tamperedId = await owner.begin(async (tx) => {
          // The immutability trigger is off for this transaction only, as the tamper tests do.
          await tx`set local session_replication_role = replica`;
          const [row] = await tx<{ id: string }[]>`
            update audit_entries set actor_name = 'Mallory'
            where tenant_id = ${tenantId} and action = 'user.signed_up'
            returning id`;
          if (!row) throw new Error('no sign-up entry to change');
          return row.id;
        });
      } finally {
        await owner.end();
      }

      await chain.getByRole('button', { name: 'Verify again' }).click();
      const broken = chain.getByRole('alert');
      await broken.getByText('Chain broken (hash-mismatch)').waitFor();
      await broken
        .getByText('An entry was changed or forged: its hash does not match its content.')
        .waitFor();
      expect(await broken.getByText(tamperedId).count()).toBe(1);
      await page.context().close();
    },
    120_000,
  );
});
