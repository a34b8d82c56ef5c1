// Browser tests of civnet's member web interface, against a real two-node
// federation (nodes.py) in Debian's chromium, driven by playwright-core.
// Run: bash tests/browser/run.sh BUILD_DIR  (or node --test tests/browser/ui.test.mjs)
//
// Each test has its own browser context (cookies, storage) and checks, as it
// ends, that its pages logged no console error, threw no exception and
// broke no Content-Security-Policy rule. Waits are on conditions, with
// generous bounds; nothing asserts how long anything took.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LIVE_TIMEOUT, apiSession, https, launch, logIn, newPage, nonce, startNodes } from './lib.mjs';

let fed, browser, A, B, acct;
const ARTIFACTS = process.env.CIVNET_BROWSER_ARTIFACTS || join(tmpdir(), 'civnet-ui-failures');
const PHONE = { width: 360, height: 740 };

before(async () => {
  fed = await startNodes();
  A = fed.nodes.a;
  B = fed.nodes.b;
  acct = fed.accounts;
  browser = await launch(fed);
});

after(async () => {
  if (browser) await browser.close();
  if (fed) await fed.stop();
});

// Runs fn with fresh pages; on failure saves a screenshot of each. The
// pages' recorded problems fail the test.
async function withPages(t, specs, fn) {
  const pages = [];
  try {
    for (const spec of specs) pages.push(await newPage(browser, spec));
    await fn(...pages);
    for (const p of pages) assert.deepEqual(p.problems, [], 'console errors, exceptions or CSP violations');
  } catch (e) {
    mkdirSync(ARTIFACTS, { recursive: true });
    for (const [i, p] of pages.entries()) {
      const file = join(ARTIFACTS, `${t.name.replace(/[^a-z0-9]+/gi, '-').slice(0, 80)}-${i}.png`);
      try {
        await p.screenshot({ path: file, fullPage: true });
        t.diagnostic(`screenshot: ${file} (at ${p.url()})`);
      } catch (_) { /* the page may be gone */ }
      if (p.problems.length) t.diagnostic(`problems of page ${i}: ${p.problems.join(' | ')}`);
    }
    t.diagnostic('set CIVNET_KEEP=1 to keep the nodes\' data dirs and logs');
    throw e;
  } finally {
    for (const p of pages) await p.context().close();
  }
}
const withPage = (t, spec, fn) => withPages(t, [spec], fn);

const h1 = (page, name) => page.getByRole('heading', { level: 1, name, exact: true });
const nav = (page) => page.getByRole('navigation', { name: 'Main' });
const card = (page, title) => page.locator('article.entry-card', { has: page.getByRole('link', { name: title, exact: true }) });
const sessionCookie = async (page, node) =>
  (await page.context().cookies(node.url)).find((c) => c.name === '__Host-civnet');
// Tabs (forward or back) until the focused element satisfies `is`; fails
// after `max` presses.
async function tabTo(page, is, { back = false, max = 25 } = {}) {
  for (let i = 0; i < max; i++) {
    await page.keyboard.press(back ? 'Shift+Tab' : 'Tab');
    if (await page.evaluate(is)) return;
  }
  assert.fail(`never focused ${is} in ${max} presses of ${back ? 'Shift+Tab' : 'Tab'}`);
}
const focused = (page) => page.evaluate(() => {
  const el = document.activeElement;
  return { tag: el.tagName, id: el.id, text: (el.textContent || '').trim() };
});

test('a member logs in (after a wrong password), publishes a Markdown post and reads it', async (t) => {
  await withPage(t, {}, async (page) => {
    const title = `Three new wells in Kanel ${nonce('')}`;
    await page.goto(A.url + '/');
    await h1(page, 'Log in').waitFor();
    assert.equal(await nav(page).isVisible(), false, 'no menu before login');

    await page.getByLabel('Handle').fill('amina');
    await page.getByLabel('Password', { exact: true }).fill('not the password at all');
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('alert').filter({ hasText: 'wrong handle or password' }).waitFor();
    assert.equal(await page.getByLabel('Password', { exact: true }).inputValue(), '', 'the wrong password is cleared');
    assert.equal(await h1(page, 'Log in').isVisible(), true);

    await page.getByLabel('Password', { exact: true }).fill(acct.amina.password);
    await page.getByRole('button', { name: 'Log in' }).click();
    await h1(page, 'Latest entries').waitFor();
    assert.equal(await page.locator('#who').textContent(), 'Amina Okafor, River Women');

    await nav(page).getByRole('link', { name: 'Write' }).click();
    await h1(page, 'Write an entry').waitFor();
    await page.getByLabel('Title').fill(title);
    await page.getByLabel('Body').fill(
      'We dug **three** wells before the rains.\n\n' +
      'A note for the webmaster: `<script>` tags are shown as text.\n\n' +
      '<script>window.__pwned = 1</script>\n\n' +
      'Inline <script>window.__pwned = 2</script> too.');
    await page.getByLabel('Tags (comma-separated)').fill('water, #wells, water');
    await page.getByRole('button', { name: 'Publish' }).click();

    await h1(page, title).waitFor();
    await page.getByRole('status').filter({ hasText: 'Published: every member organization can now read it.' }).waitFor();
    const body = page.locator('article.entry .markdown');
    assert.equal(await body.locator('strong').textContent(), 'three', 'bold rendered');
    assert.equal(await body.locator('code').textContent(), '<script>', 'a code span shows the tag as text');
    assert.equal(await body.locator('script').count(), 0, 'no script element in the body');
    assert.equal(await page.locator('main script, #view script').count(), 0);
    assert.equal(await page.evaluate(() => window.__pwned), undefined, 'no script of the post ran');
    assert.deepEqual(await page.locator('article.entry ul.tags a').allTextContents(), ['#water', '#wells']);
    assert.match(await page.locator('article.entry .meta').textContent(), /River Women/);
    assert.equal(await page.getByRole('link', { name: 'Edit' }).isVisible(), true, 'own post: Edit');
    assert.equal(await page.getByRole('button', { name: 'Retract' }).isVisible(), true, 'own post: Retract');

    // It is on the home page too, with its tags.
    await nav(page).getByRole('link', { name: 'Home' }).click();
    await card(page, title).waitFor();
    assert.deepEqual(await card(page, title).locator('ul.tags a').allTextContents(), ['#water', '#wells']);
  });
});

test('search from the home page finds a post; a search that matches nothing says so', async (t) => {
  const word = nonce('kanel');
  const title = `Borehole repair rota ${word}`;
  const s = await apiSession(A, acct.amina);
  await s.publish(title, 'Who fixes which **borehole**, month by month.', ['water']);
  await s.publish('Unrelated: seed bank opening hours', 'Tuesdays and Fridays.', ['food']);

  await withPage(t, {}, async (page) => {
    await logIn(page, A, acct.amina);
    await h1(page, 'Latest entries').waitFor();
    await page.getByLabel('Search entries').fill(word);
    await page.getByLabel('Search entries').press('Enter');
    await h1(page, 'Search results').waitFor();
    await card(page, title).waitFor();
    assert.equal(await page.locator('article.entry-card').count(), 1, 'only the matching post');
    await page.getByRole('button', { name: `Remove filter search: ${word}` }).waitFor();
    assert.match(page.url(), new RegExp(`[?&]q=${word}`));

    await card(page, title).getByRole('link', { name: title }).click();
    await h1(page, title).waitFor();
    assert.equal(await page.locator('article.entry .markdown strong').textContent(), 'borehole');

    await page.goBack();
    await h1(page, 'Search results').waitFor();
    const none = nonce('nothing');
    await page.getByLabel('Search entries').fill(none);
    await page.getByRole('button', { name: 'Search', exact: true }).click();
    await page.getByRole('button', { name: `Remove filter search: ${none}` }).waitFor();
    await page.getByText('No entries match. Try removing a filter.').waitFor();
    assert.equal(await page.locator('article.entry-card').count(), 0);

    // Removing the filter shows the latest entries again.
    await page.getByRole('button', { name: `Remove filter search: ${none}` }).click();
    await h1(page, 'Latest entries').waitFor();
    await card(page, title).waitFor();
  });
});

test('a search the node cannot read keeps the home page and says why; the corrected search works', async (t) => {
  const word = nonce('gauge');
  const title = `Rain gauge readings ${word}`;
  const s = await apiSession(A, acct.amina);
  await s.publish(title, 'Millimetres per week at **three** sites.', ['water']);

  await withPage(t, {}, async (page) => {
    page.allow(/status of 400 .*\/api\/entries\?/); // the refused searches, below
    await logIn(page, A, acct.amina);
    await h1(page, 'Latest entries').waitFor();
    const box = page.getByLabel('Search entries');
    const searchForm = page.getByRole('search');
    for (const bad of [`${word} OR`, '!!!']) {
      // What the node answers to this search: its message is what the page shows.
      const refusal = await https(A, 'GET', '/api/entries?q=' + encodeURIComponent(bad), { headers: { Cookie: s.cookie } });
      assert.equal(refusal.status, 400, `the node refuses ${bad}`);
      const message = refusal.body.error.message;

      await box.fill(bad);
      await box.press('Enter');
      await searchForm.getByRole('alert').filter({ hasText: message }).waitFor();
      assert.equal(await searchForm.getByRole('alert').textContent(), message);
      await h1(page, 'Search results').waitFor();
      assert.equal(await h1(page, 'Something went wrong').count(), 0, 'the home page stays');
      assert.equal(await page.locator('#alert').textContent(), '', 'no page-wide error');
      assert.equal(await box.inputValue(), bad, 'the query is still in the box');
      assert.equal((await focused(page)).id, 'search-q', 'the box has the focus');
      assert.equal(await box.getAttribute('aria-invalid'), 'true');
      assert.equal(await page.evaluate(() => document.getElementById('search-q').getAttribute('aria-describedby')),
        'search-q-error', 'the message describes the box');
      await page.getByText('No results.', { exact: true }).waitFor();
      assert.equal(await page.locator('article.entry-card').count(), 0);
    }

    // Corrected, from the box that still holds the refused search.
    await page.keyboard.press('Control+A');
    await page.keyboard.type(word);
    await page.keyboard.press('Enter');
    await card(page, title).waitFor();
    assert.equal(await page.locator('article.entry-card').count(), 1, 'only the matching post');
    assert.equal(await searchForm.getByRole('alert').count(), 0, 'the message is gone');
    assert.equal(await box.getAttribute('aria-invalid'), null);
    assert.equal(await page.getByText('No results.', { exact: true }).count(), 0);
    assert.match(page.url(), new RegExp(`[?&]q=${word}$`));
  });
});

test('a member comments on a post (reached by a link before logging in) and the comment stays', async (t) => {
  const s = await apiSession(A, acct.amina);
  const post = await s.publish(`Training volunteers in Bol ${nonce('')}`, 'A two-day curriculum.', ['training']);

  await withPage(t, {}, async (page) => {
    await page.goto(`${A.url}/#/entry/${post.id}`);
    await h1(page, 'Log in').waitFor();
    await logIn(page, A, acct.kofi, { goto: false });
    await h1(page, post.title).waitFor(); // back where the link pointed
    await page.getByRole('heading', { name: 'Comments (0)' }).waitFor();
    await page.getByText('No comments yet.').waitFor();

    await page.getByLabel('Add a comment').fill('How many volunteers? *Asking for* the district office.');
    await page.getByRole('button', { name: 'Comment', exact: true }).click();
    const comments = page.getByRole('region', { name: 'Comments' });
    await comments.getByRole('heading', { name: 'Comments (1)' }).waitFor();
    const c = comments.locator('article.comment');
    assert.equal(await c.locator('em').textContent(), 'Asking for');
    assert.match(await c.locator('.meta').textContent(), /River Women/);
    assert.equal(await page.getByLabel('Add a comment').inputValue(), '', 'the form is cleared');

    await page.reload();
    await h1(page, post.title).waitFor();
    await comments.getByRole('heading', { name: 'Comments (1)' }).waitFor();
    assert.equal(await comments.locator('article.comment').count(), 1, 'stored once');
  });
});

test('an entry edited twice shows its newest text; its earlier versions, collapsed, expand to their texts, oldest last', async (t) => {
  const word = nonce('');
  const versions = [
    { title: `Water point hours ${word}`, body: 'Open on **Mondays**.', text: 'Open on Mondays.', strong: 'Mondays' },
    { title: `Water point hours, revised ${word}`, body: 'Open on **Tuesdays**.', text: 'Open on Tuesdays.', strong: 'Tuesdays' },
    { title: `Water point hours, final ${word}`, body: 'Open on **Wednesdays** and Saturdays.',
      text: 'Open on Wednesdays and Saturdays.', strong: 'Wednesdays' },
  ];
  const post = await (await apiSession(A, acct.amina)).publish(versions[0].title, versions[0].body, ['water']);

  await withPage(t, {}, async (page) => {
    await logIn(page, A, acct.amina);
    await page.goto(`${A.url}/#/entry/${post.id}`);
    await h1(page, versions[0].title).waitFor();
    const entry = page.locator('article.entry');
    assert.equal(await entry.locator('details').count(), 0, 'never edited: no earlier versions');
    assert.equal(await entry.locator('.edited').count(), 0, 'never edited: not marked so');

    for (const v of versions.slice(1)) {
      await entry.getByRole('link', { name: 'Edit', exact: true }).click();
      await h1(page, 'Edit entry').waitFor();
      await page.getByText('Language: English', { exact: false }).waitFor();
      assert.equal(await page.locator('#entry-lang').count(), 0, 'no language to choose');
      assert.equal(await page.getByLabel('Title').inputValue(), versions[versions.indexOf(v) - 1].title, 'the form holds the newest text');
      await page.getByLabel('Title').fill(v.title);
      await page.getByLabel('Body').fill(v.body);
      await page.getByRole('button', { name: 'Save revision' }).click();
      await h1(page, v.title).waitFor();
      await page.getByRole('status').filter({ hasText: 'Your revision has been saved.' }).waitFor();
    }

    // The newest text, marked as edited, near the title.
    const newest = versions[2];
    assert.equal((await entry.locator(':scope > .markdown').textContent()).trim(), newest.text);
    assert.match(await entry.locator('.meta .edited').textContent(), /^Edited \S/);
    const history = entry.locator('details.revisions');
    const summary = history.locator(':scope > summary');
    assert.equal(await summary.textContent(), 'Earlier versions (2)');
    assert.equal(await history.getAttribute('open'), null, 'collapsed');
    assert.equal(await history.locator('li').first().isVisible(), false, 'its items hidden');

    // Opened with the keyboard: the earlier versions, newest first, the first text last.
    await summary.focus();
    await page.keyboard.press('Enter');
    const items = history.locator('li');
    await items.first().waitFor();
    assert.equal(await items.count(), 2);
    for (const [i, v] of [versions[1], versions[0]].entries()) {
      const item = items.nth(i);
      assert.match(await item.locator('summary').textContent(), new RegExp(` — ${v.title}${i === 1 ? ' \\(first version\\)' : ''}$`));
      assert.equal(await item.locator('summary time').count(), 1, 'with its date');
      assert.equal(await item.locator('.markdown').isVisible(), false, 'its text collapsed');
      await item.locator('summary').click();
      await item.locator('.markdown').waitFor();
      assert.equal((await item.locator('.markdown').textContent()).trim(), v.text);
      assert.equal(await item.locator('.markdown strong').textContent(), v.strong, 'rendered Markdown');
    }
    assert.equal(await h1(page, newest.title).isVisible(), true, 'the entry still shows the newest version');

    // The same from the node, after a reload.
    await page.reload();
    await h1(page, newest.title).waitFor();
    assert.equal(await page.locator('article.entry details.revisions > summary').textContent(), 'Earlier versions (2)');
  });
});

test('a post published on node B appears on node A\'s home page live, and a comment goes back live', async (t) => {
  // Two browser contexts: both nodes are on 127.0.0.1, and cookies do not
  // keep ports apart, so one context would hold one session only.
  await withPages(t, [{}, {}], async (onA, onB) => {
    const title = `Youth radio: budget hearing on Friday ${nonce('')}`;
    // A's page listens to its node's event stream before B publishes.
    const listening = onA.waitForResponse((r) => new URL(r.url()).pathname === '/api/events' && r.status() === 200);
    await logIn(onA, A, acct.amina);
    await h1(onA, 'Latest entries').waitFor();
    await listening;
    await onA.evaluate(() => { window.__sameDocument = true; });

    await logIn(onB, B, acct.bo);
    await nav(onB).getByRole('link', { name: 'Write' }).click();
    await onB.getByLabel('Title').fill(title);
    await onB.getByLabel('Body').fill('Join us at the **youth centre**; we read the district budget line by line.');
    await onB.getByLabel('Tags (comma-separated)').fill('budget, youth');
    await onB.getByRole('button', { name: 'Publish' }).click();
    await h1(onB, title).waitFor();

    // On A, with no reload: B's node syncs it to A, A's page hears of it.
    const live = card(onA, title);
    await live.waitFor({ timeout: LIVE_TIMEOUT });
    assert.equal(await onA.evaluate(() => window.__sameDocument), true, 'the page was not reloaded');
    assert.equal(await live.locator('.badge').textContent(), 'New');
    assert.match(await live.locator('.meta').textContent(), /Youth Voices/);
    assert.equal(await onA.locator('article.entry-card').first().getAttribute('data-id'),
      await live.getAttribute('data-id'), 'at the top');

    // A comments on it; B's open entry page shows the comment, no reload.
    await onB.evaluate(() => { window.__sameDocument = true; });
    await live.getByRole('link', { name: title }).click();
    await h1(onA, title).waitFor();
    assert.equal(await onA.getByRole('button', { name: 'Retract' }).count(), 0, 'not A\'s post: no Retract');
    await onA.getByLabel('Add a comment').fill('River Women will come with the water budget.');
    await onA.getByRole('button', { name: 'Comment', exact: true }).click();
    await onA.getByRole('heading', { name: 'Comments (1)' }).waitFor();
    await onB.getByRole('region', { name: 'Comments' }).locator('article.comment', { hasText: 'water budget' })
      .waitFor({ timeout: LIVE_TIMEOUT });
    assert.equal(await onB.evaluate(() => window.__sameDocument), true, 'B\'s page was not reloaded');
  });
});

test('Markdown preview on the compose screen', async (t) => {
  await withPage(t, {}, async (page) => {
    await logIn(page, A, acct.amina);
    await page.goto(A.url + '/#/compose');
    await h1(page, 'Write an entry').waitFor();
    await page.getByRole('note').filter({ hasText: 'visible to every member organization' }).waitFor();
    await page.getByRole('button', { name: 'Preview' }).click();
    await page.getByText('Nothing to preview yet: write the body first.').waitFor();

    await page.getByLabel('Body').fill('## Water points\n\n**Bold** and *italic*, [a link](https://example.org).\n\n- one\n- two');
    await page.getByRole('button', { name: 'Preview' }).click();
    const preview = page.getByRole('region', { name: 'Preview' });
    await preview.locator('strong', { hasText: 'Bold' }).waitFor();
    assert.equal(await preview.locator('em').textContent(), 'italic');
    assert.equal(await preview.locator('h2', { hasText: 'Water points' }).count(), 1);
    assert.equal(await preview.locator('li').count(), 2);
    const link = preview.getByRole('link', { name: 'a link' });
    assert.equal(await link.getAttribute('href'), 'https://example.org');
    assert.match(await link.getAttribute('rel'), /noopener/);

    await page.getByLabel('Body').fill('Now **changed**.');
    await page.getByRole('button', { name: 'Preview' }).click();
    await preview.locator('strong', { hasText: 'changed' }).waitFor();
    assert.equal(await preview.locator('li').count(), 0);
    assert.equal(await h1(page, 'Write an entry').isVisible(), true, 'still composing: nothing published');
  });
});

test('a member changes their password; the old one stops working', async (t) => {
  const old = acct.cy.password, fresh = 'cowpeas dry on the roof';
  await withPage(t, {}, async (page) => {
    await logIn(page, A, acct.cy);
    await nav(page).getByRole('link', { name: 'My account' }).click();
    await h1(page, 'My account').waitFor();

    await page.getByLabel('Current password').fill(old);
    await page.getByLabel('New password', { exact: true }).fill(fresh);
    await page.getByLabel('Confirm new password').fill(fresh + 'x');
    await page.getByRole('button', { name: 'Change password' }).click();
    await page.getByRole('alert').filter({ hasText: 'The new passwords do not match.' }).waitFor();

    await page.getByLabel('Confirm new password').fill(fresh);
    await page.getByRole('button', { name: 'Change password' }).click();
    await page.getByRole('status').filter({ hasText: 'Your password has been changed.' }).waitFor();
    acct.cy.password = fresh;

    await nav(page).getByRole('button', { name: 'Log out' }).click();
    await h1(page, 'Log in').waitFor();
    await page.getByLabel('Handle').fill('cy');
    await page.getByLabel('Password', { exact: true }).fill(old);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('alert').filter({ hasText: 'wrong handle or password' }).waitFor();

    await page.getByLabel('Password', { exact: true }).fill(fresh);
    await page.getByRole('button', { name: 'Log in' }).click();
    await h1(page, 'Latest entries').waitFor();
    assert.equal(await page.locator('#who').textContent(), 'Cy Diallo, River Women');
  });
});

test('logging out returns to the login screen and ends the session on the node', async (t) => {
  await withPage(t, {}, async (page) => {
    await logIn(page, A, acct.amina);
    await h1(page, 'Latest entries').waitFor();
    const cookie = await sessionCookie(page, A);
    assert.ok(cookie, 'a session cookie');
    assert.equal(cookie.httpOnly && cookie.secure && cookie.sameSite === 'Strict', true, 'HttpOnly, Secure, Strict');

    await nav(page).getByRole('button', { name: 'Log out' }).click();
    await h1(page, 'Log in').waitFor();
    await page.getByRole('status').filter({ hasText: 'You have logged out.' }).waitFor();
    assert.equal(await nav(page).isVisible(), false, 'no menu');
    assert.equal(await page.locator('#who').textContent(), '');

    await page.goto(A.url + '/#/');
    await h1(page, 'Log in').waitFor();
    assert.match(page.url(), /#\/login$/);
    await page.goto(A.url + '/#/compose');
    await h1(page, 'Log in').waitFor();

    const me = await https(A, 'GET', '/api/me', { headers: { Cookie: `${cookie.name}=${cookie.value}` } });
    assert.equal(me.status, 401, 'the old session cookie no longer works');
  });
});

test('when the session ends on the node, the next action says so and the draft survives a new login', async (t) => {
  await withPage(t, {}, async (page) => {
    // The app's requests and its event stream meet the ended session.
    page.allow(/status of 401 .*\/api\//);
    page.allow(/EventSource's response has a status 401/);
    await logIn(page, A, acct.dee);
    await nav(page).getByRole('link', { name: 'Write' }).click();
    await h1(page, 'Write an entry').waitFor();
    await page.getByLabel('Title').fill('Draft kept across logins');
    await page.getByLabel('Body').fill('Half-written notes from the **market survey**.');

    // The same session logs out from elsewhere (another client with its cookie).
    const c = await sessionCookie(page, A);
    const other = await apiSession(A, null, `${c.name}=${c.value}`);
    await other.logout();

    await page.getByRole('button', { name: 'Publish' }).click();
    await h1(page, 'Log in').waitFor();
    await page.getByRole('status').filter({ hasText: 'Your session has ended. Please log in again.' }).waitFor();

    await logIn(page, A, acct.dee, { goto: false });
    await h1(page, 'Write an entry').waitFor();
    assert.equal(await page.getByLabel('Title').inputValue(), 'Draft kept across logins');
    assert.equal(await page.getByLabel('Body').inputValue(), 'Half-written notes from the **market survey**.');
  });
});

test('on a 360 px wide phone, the main pages fit the width and the menu works', async (t) => {
  const s = await apiSession(A, acct.amina);
  const post = await s.publish(
    'Haushaltsüberwachungsverantwortlichkeiten: monitoring the district budget in Mao, Moussoro and Ngouri',
    'Our notes: https://example.org/reports/2025/district-budget-monitoring-lessons-learned-mao-moussoro-ngouri.pdf\n\n' +
    'Longest word we met: Haushaltsüberwachungsverantwortlichkeiten.\n\n```\nline_item_code,allocated,disbursed,difference_in_percent\n```',
    ['budget', 'accountability', 'youth-led-monitoring', 'districtbudgetaccountabilityscorecards2025']);
  await s.comment(post.id, 'We used the same **scorecard** in Bol.');

  await withPage(t, { viewport: PHONE }, async (page) => {
    const fits = async (what) => {
      const w = await page.evaluate(() => document.scrollingElement.scrollWidth);
      assert.ok(w <= PHONE.width, `${what}: the page is ${w} px wide, wider than the screen`);
    };
    const menuFits = async (what) => {
      for (const name of ['Home', 'Write', 'Organizations', 'My account']) {
        const box = await nav(page).getByRole('link', { name, exact: true }).boundingBox();
        assert.ok(box && box.x >= 0 && box.x + box.width <= PHONE.width, `${what}: menu link ${name} on screen`);
      }
      const out = await nav(page).getByRole('button', { name: 'Log out' }).boundingBox();
      assert.ok(out && out.x + out.width <= PHONE.width, `${what}: Log out on screen`);
    };

    await page.goto(A.url + '/');
    await h1(page, 'Log in').waitFor();
    await fits('login');
    await logIn(page, A, acct.amina, { goto: false });
    await h1(page, 'Latest entries').waitFor();
    await card(page, post.title).waitFor();
    await fits('home');
    await menuFits('home');

    await card(page, post.title).getByRole('link', { name: post.title }).click();
    await h1(page, post.title).waitFor();
    await page.getByRole('heading', { name: 'Comments (1)' }).waitFor();
    await fits('entry');

    await nav(page).getByRole('link', { name: 'Write' }).click();
    await h1(page, 'Write an entry').waitFor();
    await fits('compose');
    await menuFits('compose');

    await nav(page).getByRole('link', { name: 'Organizations' }).click();
    await h1(page, 'Organizations').waitFor();
    await page.locator('article.member-card').filter({ hasText: 'Youth Voices' }).waitFor();
    await fits('members');

    await nav(page).getByRole('link', { name: 'My account' }).click();
    await h1(page, 'My account').waitFor();
    await fits('account');
    await nav(page).getByRole('link', { name: 'Home' }).click();
    await h1(page, 'Latest entries').waitFor();
  });
});

test('a member logs in and reaches the compose screen with the keyboard only', async (t) => {
  await withPage(t, {}, async (page) => {
    await page.goto(A.url + '/');
    await h1(page, 'Log in').waitFor();
    await page.keyboard.press('Tab');
    assert.equal((await focused(page)).text, 'Skip to main content', 'the first Tab reaches the skip link');
    await tabTo(page, () => document.activeElement.id === 'login-handle');
    await page.keyboard.type(acct.amina.handle);
    await page.keyboard.press('Tab');
    assert.equal((await focused(page)).id, 'login-password');
    await page.keyboard.type(acct.amina.password);
    await page.keyboard.press('Enter');
    await h1(page, 'Latest entries').waitFor();
    await page.waitForFunction(() => document.activeElement.tagName === 'H1');
    assert.equal((await focused(page)).text, 'Latest entries', 'focus moves to the new screen\'s heading');

    await tabTo(page, () => document.activeElement.textContent.trim() === 'Write' && document.activeElement.tagName === 'A',
      { back: true });
    await page.keyboard.press('Enter');
    await h1(page, 'Write an entry').waitFor();
    await page.waitForFunction(() => document.activeElement.tagName === 'H1');
    await page.keyboard.press('Tab');
    assert.equal((await focused(page)).id, 'entry-title', 'Tab from the heading goes to the first field');
  });
});

test('every screen loads with no console error and no CSP violation', async (t) => {
  const s = await apiSession(A, acct.kofi);
  const post = await s.publish(`Granary inventory ${nonce('')}`, 'Counted on **Monday**.', ['food']);
  await withPage(t, {}, async (page) => {
    page.allow(/status of 404 .*\/api\/entries\/0{64}$/); // the not-found entry, below
    await logIn(page, A, acct.kofi);
    const screens = [
      ['#/', 'Latest entries'], [`#/entry/${post.id}`, post.title], [`#/edit/${post.id}`, 'Edit entry'],
      ['#/compose', 'Write an entry'], ['#/members', 'Organizations'], ['#/account', 'My account'],
      ['#/admin', 'Administration'], ['#/?tag=food', 'Filtered entries'], ['#/no/such/screen', 'Page not found'],
      [`#/entry/${'0'.repeat(64)}`, 'Not found'],
    ];
    for (const [hash, heading] of screens) {
      await page.goto(`${A.url}/${hash}`);
      await h1(page, heading).waitFor();
      // Its content came (the Admin page loads two parts, each with its own "Loading…").
      await page.waitForFunction(() => !document.querySelector('#view .loading'));
      if (hash === '#/admin') {
        await page.locator('.account-row', { hasText: 'kofi' }).waitFor();
        await page.getByRole('button', { name: 'Publish profile' }).waitFor();
      }
      if (hash === '#/members') await page.locator('article.member-card').first().waitFor();
    }
    assert.deepEqual(page.problems, []);
  });
});

test('an admin publishes the organization\'s profile; the Organizations page shows it and finds it by label', async (t) => {
  await withPage(t, {}, async (page) => {
    page.allow(/status of 400 .*\/api\/admin\/profile$/); // the refused profile, below
    await logIn(page, A, acct.kofi);
    await nav(page).getByRole('link', { name: 'Admin' }).click();
    await h1(page, 'Administration').waitFor();
    const sec = page.getByRole('region', { name: 'Your organization in the directory' });
    await sec.getByRole('note').filter({ hasText: 'Every member organization of the network sees this.' }).waitFor();
    await sec.getByRole('button', { name: 'Publish profile' }).waitFor(); // loaded
    assert.equal(await sec.locator('dd').first().textContent(), 'River Women');

    // A refusal names the field; the form marks it and keeps what was typed.
    await sec.getByLabel('Region').fill('x'.repeat(101));
    await sec.getByLabel('Country').fill('Chad');
    await sec.getByRole('button', { name: 'Publish profile' }).click();
    await sec.getByRole('alert').filter({ hasText: /region/ }).waitFor();
    assert.equal(await sec.getByLabel('Region').getAttribute('aria-invalid'), 'true');
    assert.equal((await focused(page)).id, 'prof-region');
    assert.equal(await sec.getByLabel('Country').inputValue(), 'Chad');

    await sec.getByLabel('Region').fill('Lake Chad Basin');
    await sec.getByLabel('Focus areas (comma-separated)').fill(' water, savings groups, Water ,');
    await sec.getByLabel('Labels (comma-separated)').fill('women-led, grassroots');
    await sec.getByLabel('Public contact (optional)').fill('contact@riverwomen.example');
    await sec.getByRole('button', { name: 'Publish profile' }).click();
    await sec.getByRole('status').filter({ hasText: 'Your profile has been published' }).waitFor();
    assert.equal(await sec.getByRole('alert').count(), 0, 'the earlier error is gone');
    assert.equal(await sec.getByLabel('Region').getAttribute('aria-invalid'), null);
    assert.equal(await sec.getByLabel('Focus areas (comma-separated)').inputValue(), 'water, savings groups', 'as published');
    const api = await (await apiSession(A, acct.kofi)).call('GET', '/api/admin/profile');
    assert.deepEqual({ region: api.region, country: api.country, focus_areas: api.focus_areas, labels: api.labels, contact: api.contact },
      { region: 'Lake Chad Basin', country: 'Chad', focus_areas: ['water', 'savings groups'], labels: ['women-led', 'grassroots'],
        contact: 'contact@riverwomen.example' });

    // The directory shows it (the node's view of the network takes it in at once, or nearly).
    const river = page.locator('article.member-card', { has: page.getByRole('heading', { name: 'River Women' }) });
    await nav(page).getByRole('link', { name: 'Organizations' }).click();
    await h1(page, 'Organizations').waitFor();
    for (let i = 0; !(await river.filter({ hasText: 'Lake Chad Basin' }).count()); i++) {
      assert.ok(i < 50, 'the Organizations page shows the new profile');
      await page.waitForTimeout(200); // a polling interval
      await page.reload();
      await h1(page, 'Organizations').waitFor();
      await river.waitFor();
    }
    assert.doesNotMatch(await page.locator('#view').innerText(), /\b(false|true|null|undefined)\b/, 'no stray values');
    const facts = Object.fromEntries(await river.locator('dl.facts > div').evaluateAll((rows) =>
      rows.map((r) => [r.querySelector('dt').textContent, r.querySelector('dd').textContent])));
    assert.deepEqual(facts, { Region: 'Lake Chad Basin', Country: 'Chad', 'Focus areas': 'water, savings groups',
      Labels: 'women-led, grassroots', Contact: 'contact@riverwomen.example' });
    assert.equal(await river.getByRole('link', { name: 'contact@riverwomen.example' }).getAttribute('href'),
      'mailto:contact@riverwomen.example');

    await page.getByRole('textbox', { name: 'Label', exact: true }).fill('Women-Led');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.getByText('1 organization match.').waitFor();
    assert.match(page.url(), /#\/members\?label=Women-Led$/);
    assert.deepEqual(await page.locator('article.member-card h2').allTextContents(), ['River Women']);
    await page.getByRole('textbox', { name: 'Label', exact: true }).fill('youth-led');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.getByText('No organizations match these filters.').waitFor();
  });
});

test('a member who is not an admin has no Admin link, and the admin page says who it is for', async (t) => {
  await withPage(t, {}, async (page) => {
    const adminCalls = [];
    page.on('request', (r) => { if (new URL(r.url()).pathname.startsWith('/api/admin/')) adminCalls.push(r.url()); });
    await logIn(page, A, acct.amina);
    await h1(page, 'Latest entries').waitFor();
    assert.equal(await nav(page).getByRole('link', { name: 'Admin' }).isVisible(), false, 'no Admin link');
    await nav(page).getByRole('link', { name: 'My account' }).click();
    await h1(page, 'My account').waitFor();
    assert.equal(await page.locator('dl.facts div', { hasText: 'Role' }).locator('dd').textContent(), 'Member');

    await page.goto(A.url + '/#/admin');
    await h1(page, 'Administration').waitFor();
    await page.getByText('This page is for your organization\'s admins').waitFor();
    assert.equal(await page.locator('#view form').count(), 0, 'no form');
    assert.deepEqual(adminCalls, [], 'no admin API called');
  });
});

test('an admin\'s account list offers no Reset or Disable for admin accounts, and fits a phone', async (t) => {
  await withPage(t, { viewport: PHONE }, async (page) => {
    page.allow(/status of 403 .*\/api\/admin\/accounts\/amina\/reset$/); // the refusal, below
    await logIn(page, A, acct.kofi);
    await nav(page).getByRole('link', { name: 'My account' }).click();
    await h1(page, 'My account').waitFor();
    assert.equal(await page.locator('dl.facts div', { hasText: 'Role' }).locator('dd').textContent(),
      'Admin of River Women: manages its accounts and its profile');
    assert.equal(await page.getByText(/of this node/).count(), 0);

    await nav(page).getByRole('link', { name: 'Admin' }).click();
    await h1(page, 'Administration').waitFor();
    const row = (handle) => page.locator('li.account-row', { has: page.locator('strong', { hasText: new RegExp(`^${handle}$`) }) });
    await row('ines').waitFor();
    await page.getByRole('button', { name: 'Publish profile' }).waitFor();
    for (const handle of ['ines', 'kofi']) {
      assert.equal(await row(handle).getByRole('button').count(), 0, `no buttons for the admin ${handle}`);
      assert.equal(await row(handle).locator('.badge', { hasText: 'admin' }).count(), 1, `${handle} shown as an admin`);
    }
    await row('ines').getByText('An admin: managed by your node\'s sysadmin').waitFor();
    await row('kofi').getByRole('link', { name: 'My account' }).waitFor();
    assert.equal(await row('amina').getByRole('button', { name: 'Reset password of amina' }).isVisible(), true);
    assert.equal(await row('amina').getByRole('button', { name: 'Disable amina' }).isVisible(), true);
    assert.equal(await page.getByText(/of this node/).count(), 0);

    const w = await page.evaluate(() => document.scrollingElement.scrollWidth);
    assert.ok(w <= PHONE.width, `the admin page is ${w} px wide, wider than the screen`);

    // Should the node refuse anyway (amina made an admin meanwhile, say), its message shows.
    const message = 'another admin\'s account is managed by your node\'s sysadmin (civnetctl accounts)';
    await page.route('**/api/admin/accounts/amina/reset', (route) => route.fulfill({
      status: 403, contentType: 'application/json', body: JSON.stringify({ error: { code: 'admin_account', message } }),
    }));
    await row('amina').getByRole('button', { name: 'Reset password of amina' }).click();
    await page.locator('#alert').filter({ hasText: message }).waitFor();
    assert.equal(await page.locator('.secret').count(), 0, 'no password shown');
  });
});

test('a new member\'s first login: one warning, the other menu links are off and say why; a reset enables a disabled account', async (t) => {
  const handle = nonce('new');
  await withPages(t, [{}, { viewport: PHONE }], async (admin, member) => {
    await logIn(admin, A, acct.kofi);
    await nav(admin).getByRole('link', { name: 'Admin' }).click();
    await h1(admin, 'Administration').waitFor();
    await admin.getByRole('textbox', { name: 'Handle', exact: true }).fill(handle);
    await admin.getByRole('textbox', { name: 'Name', exact: true }).fill('Nadia Newcomer');
    await admin.getByRole('button', { name: 'Add account' }).click();
    await admin.locator('.secret').filter({ hasText: 'must choose their own password at their next login' }).waitFor();

    // Disabled, the account has only Reset, which says it enables it again.
    const row = admin.locator('li.account-row', { has: admin.locator('strong', { hasText: new RegExp(`^${handle}$`) }) });
    await row.getByRole('button', { name: `Disable ${handle}` }).click();
    await row.locator('.badge', { hasText: 'disabled' }).waitFor();
    assert.equal(await row.getByRole('button', { name: `Disable ${handle}` }).count(), 0);
    const reset = row.getByRole('button', { name: `Reset password of ${handle}` });
    await row.getByText('Resetting the password also enables the account again.').waitFor();
    assert.equal(await reset.getAttribute('aria-describedby'), `reenable-${handle}`);
    await reset.click();
    const secret = admin.locator('.secret');
    await secret.filter({ hasText: `The account ${handle} is enabled again.` }).waitFor();
    assert.match(await secret.textContent(), /must choose their own password at their next login/);
    const password = (await secret.locator('code.pw').textContent()).trim();
    await row.locator('.badge', { hasText: 'disabled' }).waitFor({ state: 'detached' });

    // The member logs in, the handle capitalized as people type names.
    await logIn(member, A, { handle: handle[0].toUpperCase() + handle.slice(1), password });
    await h1(member, 'My account').waitFor();
    const warning = member.locator('#view .warning');
    await warning.filter({ hasText: 'Your password was set by an administrator.' }).waitFor();
    assert.equal(await member.locator('#notice').textContent(), '', 'no second notice');
    assert.equal(await member.getByText(/choose your own password/i).count(), 1, 'said once');
    for (const name of ['Home', 'Write', 'Organizations'])
      assert.equal(await nav(member).getByRole('link', { name, exact: true }).getAttribute('aria-disabled'), 'true', `${name} is off`);
    assert.equal(await nav(member).getByRole('link', { name: 'My account' }).getAttribute('aria-disabled'), null);

    // A click on one (or Enter on it) stays here, keeps what is typed, and points to the warning.
    await member.getByLabel('Current password').fill(password);
    await nav(member).getByRole('link', { name: 'Write', exact: true }).click({ force: true });
    await member.waitForFunction(() => document.activeElement.id === 'must-change');
    assert.match(member.url(), /#\/account$/);
    assert.equal(await member.getByLabel('Current password').inputValue(), password, 'the form keeps what is typed');
    await member.getByLabel('Current password').focus();
    await nav(member).getByRole('link', { name: 'Home', exact: true }).focus();
    await member.keyboard.press('Enter');
    await member.waitForFunction(() => document.activeElement.id === 'must-change');
    // A page reached by its address shows the account page instead.
    await member.goto(A.url + '/#/members');
    await h1(member, 'My account').waitFor();
    assert.equal(await warning.count(), 1);
    const w = await member.evaluate(() => document.scrollingElement.scrollWidth);
    assert.ok(w <= PHONE.width, `the account page is ${w} px wide, wider than the screen`);

    const mine = 'okra and sorghum by the river';
    await member.getByLabel('Current password').fill(password);
    await member.getByLabel('New password', { exact: true }).fill(mine);
    await member.getByLabel('Confirm new password').fill(mine);
    await member.getByRole('button', { name: 'Change password' }).click();
    await h1(member, 'Latest entries').waitFor();
    await member.getByRole('status').filter({ hasText: 'Your password has been changed. Welcome to civnet.' }).waitFor();
    assert.equal(await nav(member).getByRole('link', { name: 'Write', exact: true }).getAttribute('aria-disabled'), null, 'the menu works');
    await nav(member).getByRole('link', { name: 'Write', exact: true }).click();
    await h1(member, 'Write an entry').waitFor();
  });
});

test('when the session ends, the live-update stream says so: the login screen shows, and the draft survives', async (t) => {
  await withPage(t, {}, async (page) => {
    page.allow(/status of 401 .*\/api\//);
    page.allow(/EventSource's response has a status 401/);
    const listening = page.waitForResponse((r) => new URL(r.url()).pathname === '/api/events' && r.status() === 200);
    await logIn(page, A, acct.amina);
    await listening;
    await nav(page).getByRole('link', { name: 'Write' }).click();
    await h1(page, 'Write an entry').waitFor();
    await page.getByLabel('Title').fill('Draft kept when the stream ends');

    // The session ends elsewhere; news on the node wakes the page's stream,
    // which finds the session gone. Nobody touches the page.
    const c = await sessionCookie(page, A);
    await (await apiSession(A, null, `${c.name}=${c.value}`)).logout();
    await (await apiSession(A, acct.kofi)).publish(`Seed fair dates ${nonce('')}`, 'In March.', ['food']);
    await h1(page, 'Log in').waitFor({ timeout: LIVE_TIMEOUT });
    await page.getByRole('status').filter({ hasText: 'Your session has ended. Please log in again.' }).waitFor();

    await logIn(page, A, acct.amina, { goto: false });
    await h1(page, 'Write an entry').waitFor();
    assert.equal(await page.getByLabel('Title').inputValue(), 'Draft kept when the stream ends');
  });
});

test('a resync event reloads the home list and the open entry, keeping what is being typed', async (t) => {
  // The pages' event streams are held, then answer with one resync event:
  // what the pages show afterwards came from reloading, not from events.
  const held = () => {
    let release;
    const gate = new Promise((r) => { release = r; });
    const handler = async (route) => {
      await gate;
      await route.fulfill({ status: 200, headers: { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-store' },
        body: 'retry: 600000\n\nevent: resync\ndata: {}\n\n' }).catch(() => {});
    };
    return { handler, release };
  };
  const s = await apiSession(A, acct.amina);
  const gone = await s.publish(`Market day moved ${nonce('')}`, 'To Thursday.', ['market']);
  const post = await s.publish(`Well committee minutes ${nonce('')}`, 'Notes from **May**.', ['water']);

  await withPages(t, [{}, {}], async (home, entry) => {
    const h = held(), e = held();
    await home.route('**/api/events', h.handler);
    await entry.route('**/api/events', e.handler);
    await logIn(home, A, acct.amina);
    await card(home, post.title).waitFor();
    await card(home, gone.title).waitFor();
    await home.getByLabel('Search entries').fill('half-typed sear');
    await logIn(entry, A, acct.amina);
    await entry.goto(`${A.url}/#/entry/${post.id}`);
    await h1(entry, post.title).waitFor();
    await entry.getByLabel('Add a comment').fill('A comment being written');

    // Meanwhile, on the node: a new post, a retraction, a comment.
    const fresh = await s.publish(`Borehole pump spare parts ${nonce('')}`, 'Ordered.', ['water']);
    await s.call('POST', `/api/entries/${gone.id}/retract`, {});
    await (await apiSession(A, acct.kofi)).comment(post.id, 'We will bring the **ledger**.');

    h.release();
    await card(home, fresh.title).waitFor();
    await card(home, gone.title).waitFor({ state: 'detached' });
    assert.equal(await card(home, fresh.title).locator('.badge').textContent(), 'New');
    assert.equal(await home.getByLabel('Search entries').inputValue(), 'half-typed sear', 'the typed search is kept');
    assert.equal((await focused(home)).id, 'search-q', 'the focus stays');

    e.release();
    await entry.getByRole('heading', { name: 'Comments (1)' }).waitFor();
    assert.equal(await entry.locator('article.comment strong').textContent(), 'ledger');
    assert.equal(await entry.getByLabel('Add a comment').inputValue(), 'A comment being written', 'the draft is kept');
    assert.equal((await focused(entry)).id, 'comment-body', 'the focus stays');
  });
});

test('the harness itself sees a CSP violation (so the other tests can trust its silence)', async (t) => {
  const page = await newPage(browser);
  try {
    await page.goto(A.url + '/');
    await h1(page, 'Log in').waitFor();
    const violation = page.waitForEvent('console', { predicate: (m) => m.text().startsWith('CSP violation') });
    await page.evaluate(() => {
      const s = document.createElement('script');
      s.textContent = 'window.__inline = 1';
      document.head.append(s);
    });
    await violation;
    assert.ok(page.problems.some((p) => /CSP violation: script-src/.test(p)), page.problems.join('\n'));
    assert.equal(await page.evaluate(() => window.__inline), undefined, 'the inline script was blocked');
  } finally {
    await page.context().close();
  }
});
