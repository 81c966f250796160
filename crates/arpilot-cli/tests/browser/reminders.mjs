// Drives Debian's Chromium through the reminders: an admin sets the portal's address on the
// settings page and approves today's reminders; the e-mails reach the SMTP sink; a customer
// opens the portal link of its e-mail without signing in and declares a promise to pay, which
// the collector's worklist and customer file, open meanwhile, show without a reload; an altered
// link opens nothing. Screenshots of the reminders page, the scenario editor and the portal at
// 1366×768 and 1920×1080.
// Usage: node reminders.mjs BASE_URL SINK_DIR SCREENSHOT_DIR
import { chromium } from 'playwright-core';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const [base, sink, shots] = process.argv.slice(2);
const fail = (m) => { console.error('FAIL: ' + m); process.exit(1); };
const here = path.dirname(fileURLToPath(import.meta.url));
const SIZES = [['', { width: 1366, height: 768 }], ['-1920', { width: 1920, height: 1080 }]];

/// Screenshots of the window at both sizes (`name.png` at 1366×768, `name-1920.png` at
/// 1920×1080), scrolled to `at` when given; back to the first size after.
async function shoot(page, name, at) {
  for (const [suffix, size] of SIZES) {
    await page.setViewportSize(size);
    if (at) await page.locator(at).first().evaluate((e) => e.scrollIntoView({ block: 'start' }));
    await page.screenshot({ path: `${shots}/${name}${suffix}.png` });
  }
  await page.setViewportSize(SIZES[0][1]);
}

/// No horizontal scroll bar on the page at either size: nothing overflows the window.
async function fits(page, what) {
  for (const [, size] of SIZES) {
    await page.setViewportSize(size);
    const [sw, cw] = await page.evaluate(() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]);
    if (sw > cw + 1) fail(`${what} overflows the window at ${size.width}px: ${sw} > ${cw}`);
  }
  await page.setViewportSize(SIZES[0][1]);
}

const hexToText = (h) => Buffer.from(h, 'hex').toString('utf8');
const textToHex = (t) => Buffer.from(t, 'utf8').toString('hex');

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
try {
  const login = async (ctx, user, landing) => {
    const p = await ctx.newPage();
    await p.goto(base + '/login');
    await p.fill('#login', user);
    await p.fill('#password', 'demo-' + user);
    await p.click('button');
    await p.waitForURL(base + landing);
    return p;
  };
  const actx = await browser.newContext({ viewport: SIZES[0][1], locale: 'fr-FR' });
  const admin = await login(actx, 'admin', '/');

  // The portal's public address: this server's own.
  await admin.goto(base + '/settings');
  const form = admin.locator('form[action="/settings/reminders"]');
  await form.locator('input[name="portal_url"]').fill(base);
  await form.locator('button.primary').click();
  await admin.waitForURL(/\/settings#reminders$/);
  if ((await admin.locator('#reminders p.err').count()) > 0) fail('settings refused: ' + await admin.textContent('#reminders p.err'));
  if ((await form.locator('input[name="portal_url"]').inputValue()) !== base) fail('the portal address was not saved');
  const steps = await admin.locator('#reminders ul.steps li').count();
  if (steps < 5) fail(`the scenario editor lists ${steps} steps`);
  await shoot(admin, 'settings-reminders', '#reminders');
  await fits(admin, 'the settings page');

  // Today's reminders: the preview, then approve all.
  await admin.goto(base + '/reminders');
  const planned = await admin.locator('#preview tbody tr').count();
  const planned_emails = await admin.locator('#preview tbody tr td:nth-child(4)').allTextContents();
  const emails = planned_emails.filter((c) => c.trim() === 'E-mail').length;
  if (planned < 5 || emails < 3) fail(`the preview lists ${planned} reminders, ${emails} e-mails`);
  if ((await admin.locator('#reminder-kpis .kpi').count()) !== 4) fail('the reminders page has no KPIs');
  await shoot(admin, 'reminders-preview');
  await fits(admin, 'the reminders preview');
  // The dashboard, open meanwhile, counts the reminders sent without a reload.
  const dash = await actx.newPage();
  await dash.goto(base + '/');
  const sentCard = async () => (await dash.textContent('#reminders-kpi b')).trim();
  if ((await sentCard()) !== '0') fail(`reminders sent before any run: ${await sentCard()}`);
  await dash.evaluate(() => { window.__notReloaded = true; });
  await admin.click('#approve-all button');
  await admin.waitForURL(/\/reminders\?.*done=1/, { timeout: 60000 });
  const flash = (await admin.textContent('#flash')).trim();
  const sent = Number((/(\d+) e-mails envoyés/.exec(flash) || [])[1]);
  if (sent !== emails || !flash.includes(' 0 e-mails en échec')) fail(`the run: ${flash} (${emails} e-mails planned)`);
  if ((await admin.locator('#preview tbody tr').count()) !== 0) fail('reminders still to send after approving all');
  const historyRows = await admin.locator('#history tbody tr[data-reminder]').count();
  // The history shows the latest 200.
  if (historyRows !== Math.min(planned, 200)) fail(`the history lists ${historyRows} reminders, ${planned} decided`);
  await dash.waitForFunction((n) => document.querySelector('#reminders-kpi b').textContent.trim() === String(n), planned, { timeout: 5000 })
    .catch(async () => fail(`the dashboard's reminders card says ${await sentCard()} sent, ${planned} decided`));
  if (!(await dash.evaluate(() => window.__notReloaded === true))) fail('the dashboard was reloaded');
  if (!(await dash.getAttribute('#reminders-kpi', 'href')).startsWith('/reminders')) fail('the reminders card does not link to the page');
  await dash.screenshot({ path: `${shots}/dashboard-reminders.png` });
  await dash.close();
  await shoot(admin, 'reminders');
  await shoot(admin, 'reminders-history', '#history');
  await fits(admin, 'the reminders page');

  // The e-mails, as the SMTP server received them, each with its portal link.
  const msgs = JSON.parse(execFileSync('python3', [path.join(here, '../smtp/read.py'), sink], { encoding: 'utf8' }));
  if (msgs.length !== sent) fail(`the sink holds ${msgs.length} messages, ${sent} sent`);
  const linkRe = /(https?:\/\/[^\s"<>]+\/portal\/([0-9a-f]+)\.(\d+)\.([0-9a-f]+))/;
  const links = msgs.map((m) => {
    const t = linkRe.exec(m.text);
    if (!t) fail(`no portal link in the message to ${m.rcpt}`);
    if (!t[1].startsWith(base + '/portal/')) fail(`the portal link ${t[1]} is not this server's (${base})`);
    if (!m.html.includes(`href="${t[1]}"`)) fail(`the HTML part to ${m.rcpt} does not link to the portal`);
    return { link: t[1], id: hexToText(t[2]), hex: t[2], exp: t[3], sig: t[4], msg: m };
  });

  // Camille's worklist and the file of one of her customers reminded by e-mail (the highest on
  // her list), open while the customer answers on the portal.
  const cctx = await browser.newContext({ viewport: SIZES[0][1], locale: 'fr-FR' });
  const worklist = await login(cctx, 'camille', '/worklist');
  const hers = await worklist.evaluate(async () => (await (await fetch('/api/reminders/history')).json())
    .filter((h) => h.channel === 'email' && h.status === 'sent').map((h) => h.customer_id));
  const onList = await worklist.locator('#worklist tbody tr td:nth-child(2) a').evaluateAll(
    (as) => as.map((a) => decodeURIComponent(new URL(a.href).pathname.split('/').pop())));
  const byId = new Map(links.map((k) => [k.id, k]));
  const chosenId = onList.find((id) => hers.includes(id) && byId.has(id));
  if (!chosenId) fail(`no customer of Camille's worklist got an e-mail (${hers.length} reminded)`);
  const chosen = byId.get(chosenId);
  const rowText = () => worklist.evaluate((id) => {
    const a = [...document.querySelectorAll('#worklist tbody tr td:nth-child(2) a')]
      .find((x) => decodeURIComponent(new URL(x.href).pathname.split('/').pop()) === id);
    return a ? a.closest('tr').textContent : '';
  }, chosen.id);
  const file = await cctx.newPage();
  await file.goto(base + '/customers/' + encodeURIComponent(chosen.id));
  const fileText = async () => (await file.textContent('#main')).replace(/\s+/g, ' ');
  for (const p of [worklist, file]) await p.evaluate(() => { window.__notReloaded = true; });

  // The portal, in a browser that never signed in: the customer's invoices, those of the
  // e-mail among them, the total and how to pay.
  const pctx = await browser.newContext({ viewport: SIZES[0][1], locale: 'fr-FR' });
  const portal = await pctx.newPage();
  const resp = await portal.goto(chosen.link);
  if (resp.status() !== 200) fail(`the portal link answered ${resp.status()}`);
  if (!(await portal.textContent('main.portal')).includes(chosen.id)) fail('the portal does not name its customer');
  const lines = await portal.locator('#invoices tbody tr').evaluateAll((rs) => rs
    .map((r) => [...r.querySelectorAll('td')].map((td) => td.textContent.trim()))
    .filter((c) => c.length === 5)
    .map(([id, , , late, open]) => ({ id, late: Number(late || 0), cents: Number(open.replace(/[^0-9,]/g, '').replace(',', '')) })));
  if (lines.length < 1) fail('the portal lists no invoice');
  const reminded = lines.filter((i) => chosen.msg.text.includes(i.id));
  if (reminded.length < 1) fail(`none of the reminded invoices on the portal: ${lines.map((i) => i.id)}`);
  if (!/\d/.test(await portal.textContent('#total'))) fail('the portal shows no total');
  if ((await portal.locator('#reference').count()) !== 1) fail('no payment reference on the portal');
  await shoot(portal, 'portal');
  await shoot(portal, 'portal-forms', '#pay');
  await fits(portal, 'the portal');

  // A promise to pay half of the oldest reminded invoice, 17 days on.
  const late = reminded.filter((i) => i.late > 0).sort((a, b) => b.late - a.late)[0];
  if (!late) fail('no overdue invoice among the reminded ones');
  const amount = (Math.floor(late.cents / 2) / 100).toFixed(2).replace('.', ',');
  const today = await portal.getAttribute('#promise input[name="date"]', 'min');
  const when = new Date(Date.parse(today + 'T00:00:00Z') + 17 * 86400000).toISOString().slice(0, 10);
  const [y, m, d] = when.split('-');
  const day = `${d}/${m}/${y}`;
  const inRow = `promesse jusqu'au ${day}`;
  const inFile = `→ ${day}`;
  if ((await rowText()).includes(inRow) || (await fileText()).includes(inFile)) fail(`a promise for ${day} before the portal's`);
  await portal.check(`#promise input[name="invoice"][value="${late.id}"]`);
  await portal.fill('#promise input[name="amount"]', amount);
  await portal.fill('#promise input[name="date"]', when);
  await portal.click('#promise button.primary');
  await portal.waitForURL(/thanks=promise/);
  if (!(await portal.isVisible('#thanks'))) fail('no thanks after the promise');
  await portal.screenshot({ path: `${shots}/portal-thanks.png` });

  // The collector sees it without reloading: the worklist row and the customer file.
  await worklist.waitForFunction(([id, want]) => {
    const a = [...document.querySelectorAll('#worklist tbody tr td:nth-child(2) a')]
      .find((x) => decodeURIComponent(new URL(x.href).pathname.split('/').pop()) === id);
    return a && a.closest('tr').textContent.includes(want);
  }, [chosen.id, inRow], { timeout: 5000 }).catch(async () => fail(`the worklist row of ${chosen.id} does not show "${inRow}": ${await rowText()}`));
  await file.waitForFunction(([want, amount]) => {
    // Without spaces: the page groups thousands.
    const t = document.getElementById('main').textContent.replace(/\s+/g, '');
    return t.includes(`promesse${amount}EUR${want.replace(/\s+/g, '')}`) && t.includes('portailclient');
  }, [inFile, amount], { timeout: 5000 }).catch(() => fail(`the customer file does not show the promise of ${amount} for ${day}`));
  for (const p of [worklist, file]) {
    if (!(await p.evaluate(() => window.__notReloaded === true))) fail('the collector\'s page was reloaded');
  }
  await worklist.evaluate((id) => [...document.querySelectorAll('#worklist tbody tr td:nth-child(2) a')]
    .find((x) => decodeURIComponent(new URL(x.href).pathname.split('/').pop()) === id).closest('tr').scrollIntoView(), chosen.id);
  await worklist.screenshot({ path: `${shots}/collector-worklist-after-portal.png` });

  // An altered link opens nothing: another customer with this signature, another signature,
  // a later expiry.
  const other = links.find((k) => k.id !== chosen.id);
  const altered = [
    chosen.link.replace(`/portal/${chosen.hex}.`, `/portal/${other ? other.hex : textToHex(chosen.id + 'X')}.`),
    chosen.link.slice(0, -1) + (chosen.link.endsWith('0') ? '1' : '0'),
    chosen.link.replace(`.${chosen.exp}.`, `.${Number(chosen.exp) + 30}.`),
  ];
  for (const bad of altered) {
    const r = await portal.goto(bad);
    if (r.status() !== 404) fail(`${bad} answered ${r.status()}`);
    const body = await portal.textContent('body');
    if (!body.includes('404') || body.includes(chosen.id)) fail(`${bad} did not answer the plain 404 page`);
  }
  await portal.screenshot({ path: `${shots}/portal-404.png` });
  console.log(`ok: portal at ${base}; ${planned} reminders approved, ${sent} e-mails in the sink; ${chosen.id} promised ${amount} on ${late.id} for ${when} on the portal, shown live to camille; ${altered.length} altered links refused`);
} finally {
  await browser.close();
}
