// Every page of the app in Chromium at 1366×768 and 1920×1080, signed in as the admin (the
// dashboard also as a collector), the login page and the customer portal: no visible text under
// 12 px (SVG text by its size once drawn), no table wider than its card outside a declared scroll
// container, no page wider than the window, no two axis labels of a chart overlapping, and no
// serious or critical axe-core violation. Full-page screenshots `page-NAME.png` (1366) and
// `page-NAME-1920.png`. Every failure is listed before the script fails.
// Usage: node pages.mjs BASE_URL SCREENSHOT_DIR
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const [base, shots] = process.argv.slice(2);
const here = path.dirname(fileURLToPath(import.meta.url));
const AXE = path.join(here, 'node_modules/axe-core/axe.min.js');
const AXE_SOURCE = fs.readFileSync(AXE, 'utf8');
const SIZES = [['', { width: 1366, height: 768 }], ['-1920', { width: 1920, height: 1080 }]];
const failures = [];
const fail = (m) => { failures.push(m); console.error('FAIL: ' + m); };

/// The checks run in the page: what they found wrong, as sentences.
function inPage() {
  const out = [];
  const where = (e) => {
    const parts = [];
    for (let x = e; x && x.nodeType === 1 && parts.length < 4; x = x.parentElement) {
      let s = x.tagName.toLowerCase();
      if (x.id) s += '#' + x.id;
      else if (x.getAttribute('data-card')) s += `[data-card=${x.getAttribute('data-card')}]`;
      else if (typeof x.className === 'string' && x.className) s += '.' + x.className.trim().split(/\s+/).join('.');
      parts.unshift(s);
      if (x.id) break;
    }
    return parts.join(' > ');
  };
  const visible = (e) => {
    if (!e.getClientRects().length) return false;
    const r = e.getBoundingClientRect();
    if (r.width < 2 || r.height < 2) return false;
    for (let x = e; x && x.nodeType === 1; x = x.parentElement) {
      const cs = getComputedStyle(x);
      if (cs.visibility === 'hidden' || cs.display === 'none' || Number(cs.opacity) === 0) return false;
      if (x.classList.contains('sr')) return false;
    }
    return true;
  };
  // 1. Text at least 12 px: HTML by its computed size, SVG text by its size once drawn (the
  // font size times the drawing's scale) and by its glyph box.
  const seen = new Set();
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    if (!n.textContent.trim()) continue;
    const e = n.parentElement;
    if (!e || seen.has(e) || ['SCRIPT', 'STYLE', 'TITLE', 'OPTION'].includes(e.tagName)) continue;
    if (e.closest('title')) continue;
    seen.add(e);
    if (!visible(e)) continue;
    const size = parseFloat(getComputedStyle(e).fontSize);
    if (e instanceof SVGElement) {
      const text = e.closest('text') || e;
      const m = text.getScreenCTM();
      const scale = m ? Math.hypot(m.a, m.b) : 1;
      const drawn = size * scale;
      const box = text.getBoundingClientRect();
      const lines = Math.max(1, text.querySelectorAll('tspan[dy]').length + 1);
      if (drawn < 11.95) out.push(`SVG text "${n.textContent.trim().slice(0, 30)}" drawn at ${drawn.toFixed(1)} px (${where(text)})`);
      else if (box.height / lines < 12 * 0.95) out.push(`SVG text "${n.textContent.trim().slice(0, 30)}" has a ${box.height.toFixed(1)} px glyph box (${where(text)})`);
    } else if (size < 11.95) {
      out.push(`text "${n.textContent.trim().slice(0, 30)}" at ${size} px (${where(e)})`);
    }
  }
  // 2. Tables fit their card, or sit in a declared scroll container that does.
  for (const t of document.querySelectorAll('table')) {
    if (!visible(t)) continue;
    const card = t.closest('.card, .kpi, figure, section, main') || t.parentElement;
    let scroller = null;
    for (let x = t.parentElement; x && x !== card; x = x.parentElement) {
      if (['auto', 'scroll'].includes(getComputedStyle(x).overflowX)) { scroller = x; break; }
    }
    const fits = (inner, outer) => {
      const a = inner.getBoundingClientRect(), b = outer.getBoundingClientRect();
      const cs = getComputedStyle(outer);
      return a.right <= b.right - parseFloat(cs.borderRightWidth) + 0.5 && a.left >= b.left - 0.5;
    };
    if (scroller) {
      if (!fits(scroller, card)) out.push(`the scroll container of ${where(t)} is wider than its card`);
    } else if (t.scrollWidth > card.clientWidth + 0.5 || !fits(t, card)) {
      out.push(`${where(t)} is ${t.scrollWidth} px wide in a card of ${card.clientWidth} px`);
    }
  }
  // 3. Nothing wider than the window.
  const doc = document.documentElement;
  if (doc.scrollWidth > doc.clientWidth + 1) out.push(`the page is ${doc.scrollWidth} px wide in a window of ${doc.clientWidth} px`);
  // 4. Axis labels (class "tick") and values (class "v") of a chart never overlap.
  const overlap = (a, b) => Math.min(a.right, b.right) - Math.max(a.left, b.left) > 0.5 && Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top) > 0.5;
  const charts = document.querySelectorAll('figure.chart-box');
  for (const [k, f] of [...charts].entries()) {
    for (const cls of ['.tick', '.v']) {
      const els = [...f.querySelectorAll(cls)].filter(visible);
      const boxes = els.map((e) => e.getBoundingClientRect());
      for (let i = 0; i < boxes.length; i++) {
        for (let j = i + 1; j < boxes.length; j++) {
          if (overlap(boxes[i], boxes[j])) {
            out.push(`chart ${k + 1} (${where(f.closest('[data-card]') || f)}): "${els[i].textContent}" overlaps "${els[j].textContent}"`);
          }
        }
      }
    }
  }
  return { problems: out, charts: charts.length, ticks: document.querySelectorAll('figure.chart-box .tick').length };
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});

/// Every check on `page` at both sizes, with its screenshots.
async function check(page, name) {
  for (const [suffix, size] of SIZES) {
    await page.setViewportSize(size);
    await page.waitForTimeout(50);
    const r = await page.evaluate(inPage);
    for (const p of r.problems) fail(`${name} at ${size.width}px: ${p}`);
    // The whole page, up to 3000 px of it (the longest lists go on far below).
    const height = Math.min(3000, await page.evaluate(() => document.documentElement.scrollHeight));
    await page.screenshot({ path: `${shots}/page-${name}${suffix}.png`, fullPage: true, clip: { x: 0, y: 0, width: size.width, height } });
    if (!suffix) {
      // Evaluated through the DevTools protocol: the pages' CSP refuses inline scripts.
      if (!(await page.evaluate(() => !!window.axe))) await page.evaluate(AXE_SOURCE);
      const res = await page.evaluate(async () => window.axe.run(document, { resultTypes: ['violations'] }));
      for (const v of res.violations.filter((v) => ['serious', 'critical'].includes(v.impact))) {
        const nodes = v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(' | ');
        fail(`${name}: axe ${v.impact} ${v.id} (${v.help}) on ${v.nodes.length} element(s): ${nodes}`);
      }
      console.log(`${name}: ${r.charts} chart(s), ${r.ticks} axis labels, ${res.violations.length} axe finding(s) of any impact`);
    }
  }
  await page.setViewportSize(SIZES[0][1]);
}

/// The dashboard's help in place: every card has its definition, which opens from the keyboard
/// inside the window; a chart's month tells its values when focused.
async function helpInPlace(page) {
  const missing = await page.$$eval('[data-card]', (cs) => cs.filter((c) => !c.querySelector('details.help')).map((c) => c.dataset.card));
  if (missing.length) fail(`dashboard: cards without a definition: ${missing.join(', ')}`);
  const summary = page.locator('[data-card="dso_countback"] details.help summary, [data-card="balance"] details.help summary').first();
  await summary.focus();
  await page.keyboard.press('Enter');
  const box = await page.locator('details.help[open] > p').first().boundingBox();
  const vw = SIZES[0][1].width;
  if (!box || box.x < 0 || box.x + box.width > vw) fail(`dashboard: the definition opened by the keyboard is not inside the window: ${JSON.stringify(box)}`);
  await page.keyboard.press('Enter');
  await page.locator('[data-card="dso_trend"] svg.chart .hit').last().focus();
  const tip = await page.evaluate(() => { const t = document.getElementById('tip'); return t && !t.hidden ? t.textContent : ''; });
  if (!/\d/.test(tip)) fail(`dashboard: a focused month of the DSO chart shows no values (${tip})`);
}

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
  // The login page, signed out.
  const anon = await browser.newContext({ viewport: SIZES[0][1], locale: 'fr-FR' });
  const lp = await anon.newPage();
  await lp.goto(base + '/login');
  await check(lp, 'login');

  const actx = await browser.newContext({ viewport: SIZES[0][1], locale: 'fr-FR' });
  const admin = await login(actx, 'admin', '/');
  admin.setDefaultTimeout(120000);
  const report = await admin.evaluate(async () => (await fetch('/api/report')).json());
  const someone = report.top_debtors[0].customer_id;
  const pages = [
    ['dashboard', '/'],
    ['worklist', '/worklist'],
    ['aging', '/aging'],
    ['customers', '/customers'],
    ['customers-searched', '/customers?q=sa&sort=overdue&per=25&page=2'],
    ['aging-sorted', '/aging?sort=b3&page=2'],
    ['views', '/views?page=%2Faging&query=buckets%3D30%2C60%2C90'],
    ['customer', '/customers/' + encodeURIComponent(someone)],
    ['team', '/team'],
    ['forecast', '/forecast'],
    ['dashboard-forecast', '/'],
    ['disputes', '/disputes'],
    ['cash', '/cash'],
    ['reminders', '/reminders'],
    ['imports', '/imports'],
    ['settings', '/settings'],
  ];
  for (const [name, url] of pages) {
    const resp = await admin.goto(base + url, { timeout: 120000 });
    if (resp.status() !== 200) { fail(`${name}: ${url} answered ${resp.status()}`); continue; }
    await check(admin, name);
    if (name === 'dashboard') await helpInPlace(admin);
  }
  // The dashboard in English.
  const ectx = await browser.newContext({ viewport: SIZES[0][1], locale: 'en-GB' });
  const en = await login(ectx, 'admin', '/');
  await en.evaluate(() => null);
  await check(en, 'dashboard-en');

  // A collector's dashboard.
  const cctx = await browser.newContext({ viewport: SIZES[0][1], locale: 'fr-FR' });
  const collector = await login(cctx, 'camille', '/worklist');
  await collector.goto(base + '/');
  await check(collector, 'dashboard-collector');

  // The customer portal, by the link of a reminder's preview (the Reminders page, visited above,
  // made the portal's secret).
  const preview = await admin.evaluate(async () => (await fetch('/settings/reminders/preview?scenario=standard&step=2')).text());
  const link = (/\/portal\/[A-Za-z0-9_.~%-]+/.exec(preview) || [])[0];
  if (!link) fail('no portal link in the reminder preview');
  else {
    const portal = await anon.newPage();
    const resp = await portal.goto(base + link);
    if (resp.status() !== 200) fail(`portal: ${link} answered ${resp.status()}`);
    else await check(portal, 'portal');
  }
  if (failures.length) {
    console.error(`${failures.length} failure(s)`);
    process.exit(1);
  }
  console.log('ok: every page at 1366 and 1920');
} finally {
  await browser.close();
}
