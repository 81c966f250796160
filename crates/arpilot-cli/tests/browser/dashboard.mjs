// Drives Debian's Chromium through the dashboard: sign in, charts, aging drill-down, xlsx
// download, and a payment pushed through the API refreshing the open page without a reload;
// the collector's day; cash application from the review queue.
// Usage: node dashboard.mjs BASE_URL API_TOKEN SCREENSHOT_DIR
import { chromium } from 'playwright-core';
import fs from 'node:fs';

const [base, token, shots] = process.argv.slice(2);
const fail = (m) => { console.error('FAIL: ' + m); process.exit(1); };

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
try {
  const ctx = await browser.newContext({ viewport: { width: 1360, height: 900 }, locale: 'fr-FR', acceptDownloads: true });
  const page = await ctx.newPage();
  await page.goto(base + '/login');
  await page.fill('#login', 'dupont');
  await page.fill('#password', 'demo-dupont');
  await page.click('button');
  await page.waitForURL(base + '/');
  const charts = await page.locator('svg.chart').count();
  if (charts < 4) fail(`expected the dashboard's charts, found ${charts}`);
  if (!(await page.textContent('h1')).includes('Encours clients')) fail('French dashboard title');
  await page.screenshot({ path: `${shots}/dashboard.png`, fullPage: true });

  // A click on the 31-60 days bar lists that bucket's customers.
  await page.click('a.bar[data-bucket="2"]');
  await page.waitForURL(/\/aging\?.*bucket=2/);
  const rows = await page.locator('#aging tbody tr').count();
  if (rows < 1) fail('no customer in the clicked bucket');
  const cells = await page.locator('#aging tbody tr td:nth-child(4)').allTextContents();
  if (cells.some((c) => /^0,00/.test(c.trim()))) fail('a listed customer has nothing in the bucket');
  await page.screenshot({ path: `${shots}/aging.png` });

  // The Excel export downloads a real xlsx (a ZIP with the workbook).
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('a[href^="/export/aging.xlsx"]')]);
  const file = `${shots}/aging.xlsx`;
  await download.saveAs(file);
  const head = fs.readFileSync(file).subarray(0, 2).toString();
  if (head !== 'PK') fail('the export is not an xlsx file');

  // "To do today": ranked, each row with its reasons and next step.
  await page.goto(base + '/worklist');
  const todo = await page.locator('#worklist tbody tr').count();
  if (todo < 5) fail(`expected a worklist, found ${todo} rows`);
  const reasons = await page.locator('#worklist tbody tr:first-child ul.reasons li').count();
  if (reasons < 1) fail('the first worklist row says no reason');
  const scores = (await page.locator('#worklist tbody tr td:nth-child(3)').allTextContents()).map((t) => Number(t.trim()));
  if (scores.some((s, k) => k > 0 && s > scores[k - 1])) fail(`worklist not ordered by score: ${scores.slice(0, 10)}`);
  await page.screenshot({ path: `${shots}/worklist.png` });
  await page.setViewportSize({ width: 1024, height: 700 });
  await page.screenshot({ path: `${shots}/worklist-laptop.png` });
  await page.setViewportSize({ width: 1360, height: 900 });

  await page.goto(base + '/customers');
  await page.screenshot({ path: `${shots}/customers.png` });
  await page.click('#customers tbody tr:first-child a');
  await page.screenshot({ path: `${shots}/customer.png`, fullPage: true });

  // A payment pushed through the API updates the open dashboard without a reload.
  await page.goto(base + '/');
  await page.evaluate(() => { window.__notReloaded = true; });
  const before = (await page.locator('.kpi b').first().textContent()).trim();
  const inv = await (await fetch(base + '/api/invoices', { headers: { Authorization: `Bearer ${token}` } })).json();
  const open = inv.find((i) => Number(i.open_amount) > 100);
  if (!open) fail('no open invoice to pay');
  const push = await fetch(base + '/api/events', {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ source: 'browser-test', events: [{ type: 'payment', payment_id: 'BROWSER-P1', customer_id: open.customer_id, date: '2026-10-31', amount: '100.00', invoice_id: open.document_id }] }),
  });
  if (push.status !== 200) fail(`push answered ${push.status}: ${await push.text()}`);
  await page.waitForFunction((b) => document.querySelector('.kpi b').textContent.trim() !== b, before, { timeout: 5000 });
  if (!(await page.evaluate(() => window.__notReloaded === true))) fail('the page was reloaded');
  await page.screenshot({ path: `${shots}/dashboard-after-push.png` });

  // A collector's day: sign in, land on the worklist, open the first customer, log a call with
  // a promise covering two invoices. The manager's dashboard, open meanwhile, shows the
  // promised amount move without a reload; the customer file shows the call and its author.
  const promised = () => page.evaluate(() => {
    const t = document.querySelector('[data-card="composition"] [data-part="promised"] .amount');
    return t ? t.textContent.trim() : '';
  });
  await page.goto(base + '/');
  await page.evaluate(() => { window.__notReloaded = true; });
  const promisedBefore = await promised();
  if (!promisedBefore) fail('no promised amount on the dashboard');
  const cctx = await browser.newContext({ viewport: { width: 1360, height: 900 }, locale: 'fr-FR' });
  const cpage = await cctx.newPage();
  await cpage.goto(base + '/login');
  await cpage.fill('#login', 'camille');
  await cpage.fill('#password', 'demo-camille');
  await cpage.click('button');
  await cpage.waitForURL(base + '/worklist');
  const firstReasons = await cpage.locator('#worklist tbody tr:first-child ul.reasons li').allTextContents();
  if (firstReasons.length < 1) fail('the first customer of the worklist has no reason');
  const cscores = (await cpage.locator('#worklist tbody tr td:nth-child(3)').allTextContents()).map((t) => Number(t.trim()));
  if (cscores.some((x, k) => k > 0 && x > cscores[k - 1])) fail('the collector\'s worklist is not ordered by score');
  await cpage.screenshot({ path: `${shots}/collector-worklist.png` });
  await cpage.click('#worklist tbody tr:first-child td:nth-child(2) a');
  await cpage.waitForURL(/\/customers\//);
  const id = decodeURIComponent(new URL(cpage.url()).pathname.split('/').pop());
  const cfile = await cpage.evaluate(async (id) => (await fetch('/api/customers/' + encodeURIComponent(id))).json(), id);
  const two = cfile.open_invoices.slice(0, 2);
  if (two.length < 2) fail(`customer ${id} has fewer than two open invoices`);
  const openSum = two.reduce((a, i) => a + Math.round(Number(i.open_amount) * 100), 0);
  const amount = (Math.floor(openSum / 2) / 100).toFixed(2);
  await cpage.selectOption('select[name="kind"]', 'call');
  await cpage.selectOption('select[name="outcome"]', 'promise');
  await cpage.fill('textarea[name="note"]', 'Virement promis par la comptable');
  for (const i of two) await cpage.check(`input[name="invoice"][value="${i.document_id}"]`);
  await cpage.fill('input[name="promise_amount"]', amount.replace('.', ','));
  await cpage.fill('input[name="promise_date"]', '2026-11-20');
  await cpage.click('form.work-form button.primary');
  await cpage.waitForURL(/#work$/);
  const historyText = await cpage.textContent('#main');
  if (!historyText.includes('camille') || !historyText.includes('Virement promis par la comptable')) fail('the call and its author are not in the customer file');
  await cpage.screenshot({ path: `${shots}/collector-customer.png`, fullPage: true });
  await page.waitForFunction((b) => {
    const t = document.querySelector('[data-card="composition"] [data-part="promised"] .amount');
    return t && t.textContent.trim() !== b;
  }, promisedBefore, { timeout: 5000 }).catch(() => fail(`the manager's promised amount did not move (${promisedBefore})`));
  if (!(await page.evaluate(() => window.__notReloaded === true))) fail('the manager\'s page was reloaded');
  const promisedAfter = await promised();
  await page.screenshot({ path: `${shots}/dashboard-after-promise.png` });

  // Cash application: the review queue shows a receipt with its proposal and candidates;
  // accepting it moves the customer's balance and the dashboard's receipts to review, both
  // open in other tabs, without a reload.
  await page.goto(base + '/');
  await page.evaluate(() => { window.__notReloaded = true; });
  const toApply = async (p) => (await p.textContent('#to-apply b')).trim();
  const toApplyBefore = await toApply(page);
  const qpage = await ctx.newPage();
  await qpage.goto(base + '/cash');
  await qpage.screenshot({ path: `${shots}/cash.png` });
  const receipts = qpage.locator('article.receipt');
  const n = await receipts.count();
  if (n < 1) fail('no receipt waits for review');
  let chosen = null;
  for (let k = 0; k < n && !chosen; k++) {
    const r = receipts.nth(k);
    const cust = await r.locator('input[name="customer_id"]').inputValue();
    const ticked = await r.locator('input[name="invoice"]:checked').count();
    const candidates = await r.locator('input[name="invoice"]').count();
    const reasons = await r.locator('ul.reasons li').count();
    if (cust && ticked > 0 && candidates >= ticked && reasons > 0) chosen = { r, cust };
  }
  if (!chosen) fail('no receipt with a proposed customer and invoices');
  await qpage.setViewportSize({ width: 1280, height: 720 });
  await chosen.r.scrollIntoViewIfNeeded();
  await qpage.screenshot({ path: `${shots}/cash-laptop.png` });
  const cust = await ctx.newPage();
  await cust.goto(base + '/customers/' + encodeURIComponent(chosen.cust));
  await cust.evaluate(() => { window.__notReloaded = true; });
  const balance = async () => (await cust.locator('.kpi b').first().textContent()).trim();
  const balanceBefore = await balance();
  await chosen.r.locator('button[name="decision"][value="apply"]').click();
  await qpage.waitForURL(base + '/cash');
  await cust.waitForFunction((b) => document.querySelector('.kpi b').textContent.trim() !== b, balanceBefore, { timeout: 5000 })
    .catch(() => fail(`the customer's balance did not move (${balanceBefore})`));
  await page.waitForFunction((b) => document.querySelector('#to-apply b').textContent.trim() !== b, toApplyBefore, { timeout: 5000 })
    .catch(() => fail(`the dashboard's receipts to review did not move (${toApplyBefore})`));
  for (const p of [page, cust]) {
    if (!(await p.evaluate(() => window.__notReloaded === true))) fail('a page was reloaded');
  }
  const toApplyAfter = await toApply(page);
  await cust.screenshot({ path: `${shots}/cash-customer-after.png` });
  await page.screenshot({ path: `${shots}/dashboard-after-cash.png` });
  console.log(`ok: charts, drill-down, xlsx, live update; worklist, call with a promise of ${amount} on ${id}: ${promisedBefore} → ${promisedAfter}; receipt of ${chosen.cust} applied: balance ${balanceBefore} → ${await balance()}, to review ${toApplyBefore} → ${toApplyAfter}`);
} finally {
  await browser.close();
}
