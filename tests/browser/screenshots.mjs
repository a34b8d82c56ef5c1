// Screenshots of the member web interface for the docs:
//   node tests/browser/screenshots.mjs OUTDIR
// Starts a real federation (nodes.py --orgs 3: River Women and Coastal
// Health Alliance on node A, Youth Voices on node B), gives the three
// organizations realistic directory profiles (River Women's through the
// admin API, as its admin kofi; the others with civnetctl orgs profile),
// publishes a few realistic posts and comments from them, and saves
// login.png, home.png, entry.png, compose.png, members.png (1280x800) and
// home-phone.png, entry-phone.png (360x740), as member amina of River
// Women sees them on node A, and admin.png (1280x800), the Admin page as
// kofi sees it. Environment: as for run.sh (CIVNETD, ...), or BUILD_DIR
// (default REPO/build).
import { execFileSync } from 'node:child_process';
import { mkdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { apiSession, launch, logIn, newPage, startNodes } from './lib.mjs';

const OUT = process.argv[2] && resolve(process.argv[2]);
if (!OUT) {
  console.error('usage: node tests/browser/screenshots.mjs OUTDIR');
  process.exit(2);
}
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 360, height: 740 };

const SHELTER = {
  title: 'Safe shelter referral checklist',
  body: `When a woman or girl asks for a safe place to stay, these are the steps our case workers follow before the first night.

1. **Ask for consent** before sharing any detail with the shelter, and note it in the file.
2. Check the shelter's **current capacity** by phone: never send someone to a full house.
3. Arrange **transport with a trusted driver**; the person never travels alone after dark.
4. Give her the *24-hour helpline* number and the name of her case worker.
5. Follow up within **48 hours**, and again after one week.

Our shared list of shelters, with opening hours and who to call, is kept by the district protection cluster: ask your focal point for access.`,
  tags: ['protection', 'referrals', 'gbv'],
};
const POSTS = [
  // [account, title, body, tags]
  ['amina', 'Community savings groups: a simple ledger template',
    'The paper ledger our **savings groups** use each week: one line per member, shares bought, loans out, repayments. Works without electricity; the treasurer reads it aloud at every meeting.',
    ['finance', 'women']],
  ['lena', 'Cholera preparedness before the rainy season',
    'What we check in each village **six weeks before the rains**: chlorine stocks, ORS points, latrine repairs, and who alerts the health post. A one-page checklist is attached to this post for partners.',
    ['health', 'wash']],
  ['bo', 'Youth-led budget monitoring: what worked',
    `Twelve volunteers followed the district's education budget for a year. What made the difference:

- reading the **published budget lines** together, one school at a time;
- photographing what was delivered, with the date;
- presenting findings at the public hearing *with* the district officer, not against them.

Next year we want to add health centres. Partners welcome.`,
    ['budget', 'youth', 'accountability']],
  ['amina', SHELTER.title, SHELTER.body, SHELTER.tags],
  ['bo', 'Call for partners: radio drama on early marriage',
    'We are producing a **10-episode radio drama** in Kanembu and Arabic, written with girls from three villages. We are looking for partners to host listening groups after each episode.',
    ['media', 'youth', 'partnerships']],
];

// The organizations' directory profiles: [node, name, profile].
const PROFILES = [
  ['a', 'River Women', { region: 'Lac', country: 'Chad', focus_areas: ['water', 'savings groups', 'protection'],
    labels: ['women-led'], contact: 'contact@riverwomen.example' }],
  ['b', 'Youth Voices', { region: 'Kanem', country: 'Chad', focus_areas: ['budget monitoring', 'education', 'media'],
    labels: ['youth-led'], contact: 'https://youthvoices.example' }],
  ['a', 'Coastal Health Alliance', { region: 'Coast', country: 'Kenya', focus_areas: ['health', 'wash'],
    labels: ['community-based', 'women-led'], contact: 'info@coastalhealth.example' }],
];

async function poll(what, fn, timeout = 60_000) {
  const deadline = Date.now() + timeout;
  for (;;) {
    if (await fn()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200)); // a polling interval
  }
}

async function main() {
  mkdirSync(OUT, { recursive: true });
  const fed = await startNodes(['--orgs', '3']);
  let browser;
  try {
    const A = fed.nodes.a, B = fed.nodes.b, acct = fed.accounts;
    const sessions = {
      amina: await apiSession(A, acct.amina), lena: await apiSession(A, acct.lena), bo: await apiSession(B, acct.bo),
    };
    const kofi = await apiSession(A, acct.kofi);
    for (const [node, org, p] of PROFILES) {
      if (org === acct.kofi.org) {
        await kofi.call('POST', '/api/admin/profile', p);
        continue;
      }
      execFileSync(fed.env.CIVNETCTL, ['--data-dir', fed.nodes[node].data_dir, 'orgs', 'profile', '--org', org,
        '--region', p.region, '--country', p.country, ...p.focus_areas.flatMap((f) => ['--focus', f]),
        ...p.labels.flatMap((l) => ['--label', l]), '--contact', p.contact], { stdio: 'pipe' });
    }
    await poll('the profiles to reach node A', async () => {
      const ms = (await sessions.amina.call('GET', '/api/members')).members;
      return PROFILES.every(([, org, p]) => ms.some((m) => m.name === org && m.region === p.region && m.contact === p.contact));
    });
    const ids = {};
    for (const [who, title, body, tags] of POSTS) ids[title] = (await sessions[who].publish(title, body, tags)).id;
    const shelter = ids[SHELTER.title];
    // Every post on A; the shelter post on B, for Youth Voices' comment.
    await poll('the posts to reach node A', async () =>
      (await sessions.amina.call('GET', '/api/entries?limit=50')).entries.length >= POSTS.length);
    await poll('the shelter post to reach node B', async () =>
      sessions.bo.call('GET', `/api/entries/${shelter}`).then(() => true, () => false));
    await sessions.bo.comment(shelter,
      'Thank you. We adapted steps 3 and 4 for our **youth helpline**; the follow-up after 48 hours made the biggest difference.');
    await sessions.lena.comment(shelter,
      'Our mobile clinics can add the shelters to their referral cards. Could you share the helpline hours?');
    await sessions.amina.comment(ids['Youth-led budget monitoring: what worked'],
      'We would like to join for the health centres next year. Who should we talk to?');
    await poll('the comments to reach node A', async () =>
      (await sessions.amina.call('GET', `/api/entries/${shelter}`)).comments.length >= 2);

    browser = await launch(fed);
    const shoot = async (page, name, full) => {
      const path = join(OUT, name);
      await page.evaluate(() => window.scrollTo(0, 0));
      await page.screenshot({ path, fullPage: !!full, animations: 'disabled', caret: 'hide' });
      console.log(`${path} (${Math.round(statSync(path).size / 1024)} KB)`);
    };
    const h1 = (page, name) => page.getByRole('heading', { level: 1, name, exact: true }).waitFor();

    // Desktop.
    let page = await newPage(browser, { viewport: DESKTOP });
    await page.goto(A.url + '/');
    await h1(page, 'Log in');
    await shoot(page, 'login.png');
    await logIn(page, A, acct.amina, { goto: false });
    await h1(page, 'Latest entries');
    await page.locator('article.entry-card').nth(POSTS.length - 1).waitFor();
    await shoot(page, 'home.png');
    await page.goto(`${A.url}/#/entry/${shelter}`);
    await h1(page, SHELTER.title);
    await page.getByRole('heading', { name: 'Comments (2)' }).waitFor();
    await page.evaluate(() => document.activeElement && document.activeElement.blur());
    await shoot(page, 'entry.png');
    await page.goto(A.url + '/#/compose');
    await h1(page, 'Write an entry');
    await page.getByLabel('Title').fill('Water committee training: notes from Bol');
    await page.getByLabel('Body').fill('Three days with the **water committees** of five villages:\n\n- pump repairs, with spare parts from the district;\n- keeping the fee ledger;\n- who calls whom when a borehole fails.\n\nSlides in French and Arabic on request.');
    await page.getByLabel('Tags (comma-separated)').fill('water, training');
    await page.evaluate(() => document.activeElement && document.activeElement.blur());
    await shoot(page, 'compose.png');
    await page.goto(A.url + '/#/members');
    await h1(page, 'Organizations');
    await page.locator('article.member-card').nth(2).waitFor();
    await shoot(page, 'members.png');
    const problems = [...page.problems];
    await page.context().close();

    // The Admin page, as River Women's admin sees it.
    page = await newPage(browser, { viewport: DESKTOP });
    await logIn(page, A, acct.kofi);
    await page.goto(A.url + '/#/admin');
    await h1(page, 'Administration');
    await page.getByRole('button', { name: 'Publish profile' }).waitFor();
    await page.locator('li.account-row').nth(1).waitFor();
    await page.evaluate(() => document.activeElement && document.activeElement.blur());
    await shoot(page, 'admin.png', true);
    problems.push(...page.problems);
    await page.context().close();

    // Phone.
    page = await newPage(browser, { viewport: PHONE });
    await logIn(page, A, acct.amina);
    await h1(page, 'Latest entries');
    await page.locator('article.entry-card').nth(POSTS.length - 1).waitFor();
    await page.evaluate(() => document.activeElement && document.activeElement.blur());
    await shoot(page, 'home-phone.png');
    await page.goto(`${A.url}/#/entry/${shelter}`);
    await h1(page, SHELTER.title);
    await page.getByRole('heading', { name: 'Comments (2)' }).waitFor();
    await page.evaluate(() => document.activeElement && document.activeElement.blur());
    await shoot(page, 'entry-phone.png');
    problems.push(...page.problems);
    await page.context().close();
    if (problems.length) throw new Error('the pages logged problems:\n' + problems.join('\n'));
  } finally {
    if (browser) await browser.close();
    await fed.stop();
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
