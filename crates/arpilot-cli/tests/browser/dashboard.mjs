// Drives Debian's Chromium through the dashboard: sign in, charts, aging drill-down, xlsx
// download, and a payment pushed through the API refreshing the open page without a reload.
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
  console.log('ok: charts, drill-down, xlsx, live update');
} finally {
  await browser.close();
}
