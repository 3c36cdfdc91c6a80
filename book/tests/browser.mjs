// Opens the built book in headless Chromium, as a reader would, and checks it. `.ci/run` runs it
// after `mdbook build`: `node book/tests/browser.mjs <built book folder>`.
//
// Checks, each failure naming its page:
//   - every page loads without a JavaScript error, a failed request or a missing resource;
//   - every quiz renders all its questions (each one is shown, answered and submitted, and the
//     answer review lists them all);
//   - every image loads;
//   - code and transcripts fit the page at 1024x768 and 1280x800 (no sideways scrolling);
//   - every diagram's smallest label is at least 12 px as displayed at both widths, and no
//     diagram is a bright panel in the dark themes (coal, navy, ayu);
//   - the race visualizer, played to the end with a fixed seed, shows at least one lost update
//     without protection and none with the semaphore or the atomic; its keys work; it replays
//     a trace file; it also starts from a file:// URL;
//   - at 1024x768 in every theme, embedded in lesson04 and on its own page, with 2 and 3
//     workers: scrolled to just under the menu bar, the visualizer shows its controls, the
//     workers, the counter, and the last timeline row and log line after a step, without
//     scrolling;
//   - the failing schedule's page draws its sample (the rows shown and folded, the 3 marked
//     rows highlighted, the preemption lines, the diagnosis and the replay command), its keys
//     step, its folds open, it redraws another saved run opened or dropped, refuses a file that
//     is not one, reads in every theme at 1024x768 and 1280x800 (no sideways scrolling, no
//     label under 12 px, contrast at least 4.5), and starts from a file:// URL;
//   - print.html holds every quiz question with its answer in its appendix, and every
//     instructor note expanded.
// It also saves screenshots in book/tests/out/ (1024x768 and 1280 wide, light and dark) for a
// person to look at.
//
// Uses Debian's Chromium (/usr/bin/chromium, or $CHROMIUM) through playwright-core: no browser
// download.

import { chromium } from "playwright-core";
import http from "node:http";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(process.argv[2] || path.join(here, "..", "book"));
const outDir = path.join(here, "out");
const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";
const started = Date.now();

if (!fs.existsSync(path.join(root, "index.html"))) {
  console.error(`no built book in ${root}: run \`mdbook build book\` first`);
  process.exit(2);
}
fs.mkdirSync(outDir, { recursive: true });

// How long each part takes, for CI's budget.
const laps = [];
let lapStarted = Date.now();
function lap(next) {
  const now = Date.now();
  if (laps.length) laps[laps.length - 1].seconds = (now - lapStarted) / 1000;
  laps.push({ name: next, seconds: 0 });
  lapStarted = now;
}

// Runs `work` on every item, `n` at a time (the browser has processes to spare).
async function inParallel(items, n, work) {
  const queue = items.slice();
  await Promise.all(Array.from({ length: n }, async () => {
    while (queue.length) await work(queue.shift());
  }));
}

let passed = 0;
const failures = [];
// Text as read on the page, to compare markdown with its rendering: no `code` or *emphasis*
// marks, and whitespace collapsed.
function plain(text) {
  return String(text).replace(/```[a-z]*/g, "").replace(/[`*]/g, "").replace(/\s+/g, " ").trim();
}

function check(ok, page, what) {
  if (ok) passed += 1;
  else failures.push(`${page}: ${what}`);
  return ok;
}

// ---- a static server for the built book, on localhost ------------------------------------------

const types = {
  ".html": "text/html; charset=utf-8", ".js": "text/javascript", ".css": "text/css",
  ".svg": "image/svg+xml", ".png": "image/png", ".json": "application/json",
  ".woff2": "font/woff2", ".woff": "font/woff", ".ttf": "font/ttf", ".txt": "text/plain",
};
const server = http.createServer((req, res) => {
  const url = new URL(req.url, "http://localhost");
  // Browsers ask for /favicon.ico on pages that name no icon (toc.html, the sidebar's frame).
  if (url.pathname === "/favicon.ico") {
    res.writeHead(204).end();
    return;
  }
  let file = path.join(root, decodeURIComponent(url.pathname));
  if (!file.startsWith(root)) {
    res.writeHead(403).end();
    return;
  }
  if (fs.existsSync(file) && fs.statSync(file).isDirectory()) file = path.join(file, "index.html");
  fs.readFile(file, (err, data) => {
    if (err) {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found");
      return;
    }
    res.writeHead(200, { "content-type": types[path.extname(file)] || "application/octet-stream" });
    res.end(data);
  });
});
await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
const base = `http://127.0.0.1:${server.address().port}/`;

const browser = await chromium.launch({
  executablePath,
  headless: true,
  args: [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
  ],
});

// A fresh context per use: its own storage (quiz progress, theme), print() made harmless.
async function newPage({ width = 1024, height = 768, theme = "light" } = {}) {
  const context = await browser.newContext({ viewport: { width, height } });
  await context.addInitScript((t) => {
    try {
      localStorage.setItem("mdbook-theme", t);
    } catch (e) {}
    window.print = () => {};
  }, theme);
  const page = await context.newPage();
  page.problems = [];
  page.on("pageerror", (e) => page.problems.push(`JavaScript error: ${e.message}`));
  page.on("console", (m) => {
    if (m.type() === "error") page.problems.push(`console error: ${m.text()}`);
  });
  page.on("requestfailed", (r) => {
    // A request cancelled because the test moved on (ERR_ABORTED) failed nothing; a missing
    // file shows as an HTTP 404 below.
    const error = r.failure()?.errorText || "";
    if (!error.includes("ERR_ABORTED")) page.problems.push(`request failed: ${r.url()} (${error})`);
  });
  page.on("response", (r) => {
    if (r.status() >= 400 && r.url().startsWith(base)) page.problems.push(`HTTP ${r.status()} for ${r.url()}`);
  });
  return page;
}

async function open(page, name) {
  await page.goto(base + name, { waitUntil: "load" });
  await page.waitForFunction(() => document.fonts.status === "loaded").catch(() => {});
}

const pages = fs.readdirSync(root).filter((f) => f.endsWith(".html")).sort();

lap("links");
// ---- every link inside the book leads to a page and an anchor that exist ----------------------

for (const name of pages) {
  const html = fs.readFileSync(path.join(root, name), "utf8");
  for (const match of html.matchAll(/<a [^>]*href="([^":]*?)(?:#([^"]*))?"/g)) {
    const [, file, anchor] = match;
    if (file && !file.endsWith(".html")) continue;
    const target = file ? path.join(root, path.dirname(name), file) : path.join(root, name);
    if (!check(fs.existsSync(target), name, `link to missing page ${file}`)) continue;
    if (anchor && name !== "print.html") {
      const text = fs.readFileSync(target, "utf8");
      check(text.includes(`id="${decodeURIComponent(anchor)}"`), name, `link to missing anchor ${file || ""}#${anchor}`);
    }
  }
}

lap("pages");
// ---- every page: loads cleanly, its images load, its code fits, its diagrams are legible ------

const diagramsSeen = new Map();
await inParallel([1024, 1280], 2, async (width) => {
  const page = await newPage({ width, height: width === 1024 ? 768 : 800 });
  for (const name of pages) {
    page.problems = [];
    await open(page, name);
    await page.waitForTimeout(50);
    if (width === 1024) {
      check(page.problems.length === 0, name, page.problems.join("; "));
      const images = await page.$$eval("img", (imgs) =>
        imgs.map((img) => ({ src: img.getAttribute("src"), ok: img.complete && img.naturalWidth > 0 })));
      for (const img of images) check(img.ok, name, `image ${img.src} did not load`);
    }
    if (name === "print.html" || name === "toc.html") continue;
    // Code and transcripts: nothing to scroll sideways.
    const wide = await page.$$eval("main pre", (blocks) =>
      blocks.filter((pre) => pre.scrollWidth > pre.clientWidth + 1)
        .map((pre) => pre.textContent.split("\n").find((l) => l.length > 60) || pre.textContent.slice(0, 60)));
    check(wide.length === 0, name, `${wide.length} code block(s) scroll sideways at ${width} px, e.g. "${(wide[0] || "").slice(0, 70)}"`);
    // Nor the page itself (a diagram or a table reaching out of the column too far).
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    check(overflow <= 0, name, `the page scrolls sideways by ${overflow} px at ${width} px`);
    // Diagrams: the smallest label, as displayed.
    const labels = await page.$$eval('main img[src*="img/"]:not(.img-wrapper > img)', async (imgs) => {
      const out = [];
      for (const img of imgs) {
        const text = await (await fetch(img.src)).text();
        const doc = new DOMParser().parseFromString(text, "image/svg+xml");
        const svg = doc.documentElement;
        const viewBox = (svg.getAttribute("viewBox") || "").split(/[\s,]+/).map(Number);
        const vbWidth = viewBox.length === 4 ? viewBox[2] : Number(svg.getAttribute("width"));
        // The font size of every text element, inherited from its ancestors.
        let smallest = Infinity;
        let smallestText = "";
        for (const t of doc.querySelectorAll("text, tspan")) {
          if (!t.textContent.trim()) continue;
          let size = null;
          for (let n = t; n && n.getAttribute && size === null; n = n.parentNode) {
            const attr = n.getAttribute("font-size");
            const style = /font-size:\s*([\d.]+)/.exec(n.getAttribute("style") || "");
            size = style ? Number(style[1]) : attr ? Number(attr) : null;
          }
          if (size === null) size = 16;
          if (size < smallest) {
            smallest = size;
            smallestText = t.textContent.trim();
          }
        }
        out.push({ src: img.getAttribute("src"), px: smallest * img.clientWidth / vbWidth, text: smallestText });
      }
      return out;
    });
    for (const label of labels) {
      diagramsSeen.set(label.src, name);
      check(label.px >= 11.95, name, `diagram ${label.src}: label "${label.text}" is ${label.px.toFixed(1)} px at ${width} px (at least 12)`);
    }
  }
  await page.context().close();
});

lap("dark themes");
// ---- diagrams in the dark themes: no bright panel ------------------------------------------------

await inParallel(["coal", "navy", "ayu"], 3, async (theme) => {
  const page = await newPage({ theme });
  for (const [src, name] of diagramsSeen) {
    await open(page, name);
    const brightness = await page.$eval(`main img[src="${src}"]:not(.img-wrapper > img)`, async (img) => {
      await img.decode().catch(() => {});
      const canvas = document.createElement("canvas");
      canvas.width = img.clientWidth;
      canvas.height = img.clientHeight;
      const ctx = canvas.getContext("2d");
      ctx.filter = getComputedStyle(img).filter;
      ctx.fillStyle = getComputedStyle(document.body).backgroundColor;
      ctx.fillRect(0, 0, canvas.width, canvas.height);
      ctx.drawImage(img, 0, 0, canvas.width, canvas.height);
      const data = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
      let sum = 0;
      for (let i = 0; i < data.length; i += 4) sum += 0.2126 * data[i] + 0.7152 * data[i + 1] + 0.0722 * data[i + 2];
      return sum / (data.length / 4) / 255;
    });
    check(brightness < 0.45, name, `diagram ${src} is a bright panel in the ${theme} theme (mean brightness ${brightness.toFixed(2)})`);
  }
  await page.context().close();
});

lap("quizzes");
// ---- every quiz renders all its questions ----------------------------------------------------------

let quizzes = 0;
const allQuestions = [];
await inParallel(pages.filter((name) => name !== "print.html"), 3, async (name) => {
  const page = await newPage();
  await open(page, name);
  const count = await page.locator(".quiz-placeholder").count();
  for (let q = 0; q < count; q++) {
    quizzes += 1;
    const quiz = page.locator(".quiz-placeholder").nth(q);
    const questions = JSON.parse(await quiz.getAttribute("data-quiz-questions")).questions;
    questions.forEach((question) => allQuestions.push({ page: name, question }));
    const start = quiz.locator("button").first();
    if (!check(await start.count() > 0, name, `quiz ${q + 1} has no Start button (not rendered)`)) continue;
    await start.click();
    let shown = 0;
    for (let k = 1; k <= questions.length; k++) {
      // The quiz renders each question after the previous one's submit: wait for it.
      await quiz.locator("header", { hasText: `Question ${k} / ${questions.length}` }).waitFor({ timeout: 5000 }).catch(() => {});
      const header = await quiz.locator("header").innerText().catch(() => "");
      const prompt = plain(await quiz.locator(".prompt").first().innerText().catch(() => ""));
      const expected = plain(questions[k - 1].prompt.prompt).slice(0, 40);
      if (!header.includes(`Question ${k} / ${questions.length}`) || !prompt.includes(expected)) {
        check(false, name, `quiz ${q + 1}: question ${k} of ${questions.length} is not shown ("${expected}")`);
        break;
      }
      shown += 1;
      if (await quiz.locator("input[type=radio]").count()) await quiz.locator("input[type=radio]").first().check();
      else await quiz.locator("input[type=text], textarea").first().fill("an answer");
      await quiz.locator("input[type=submit]").click();
    }
    if (shown === questions.length) await quiz.locator(".answer-wrapper").first().waitFor({ timeout: 5000 }).catch(() => {});
    const reviewed = await quiz.locator(".answer-wrapper").count();
    check(shown === questions.length && reviewed === questions.length, name,
      `quiz ${q + 1} rendered ${shown} of ${questions.length} questions (${reviewed} in the answer review)`);
  }
  await page.context().close();
});
check(quizzes >= 15, "book", `${quizzes} quizzes found, expected at least 15`);

lap("visualizer");
// ---- the race visualizer ------------------------------------------------------------------------------

{
  const name = "race-visualizer.html";
  const page = await newPage({ width: 1024, height: 768 });
  await open(page, name);
  const viz = page.locator(".race-visualizer").first();
  async function play(mode, seed, processes) {
    await viz.locator(`input[data-mode="${mode}"]`).check();
    await viz.locator('select[data-control="processes"]').selectOption(String(processes));
    await viz.locator('input[data-control="seed"]').fill(String(seed));
    await viz.locator('input[data-control="seed"]').dispatchEvent("change");
    await viz.locator('button[data-action="end"]').click();
    return {
      finished: await viz.getAttribute("data-finished"),
      lost: Number(await viz.getAttribute("data-lost")),
      expected: Number(await viz.getAttribute("data-expected")),
      counted: Number(await viz.getAttribute("data-counted")),
      marked: await viz.locator(".rv-log .rv-lost").count(),
    };
  }
  for (const processes of [2, 3]) {
    const none = await play("none", 7, processes);
    check(none.finished === "true" && none.lost >= 1 && none.marked >= 1, name,
      `seed 7, ${processes} workers, no protection: expected at least one lost update, got ${JSON.stringify(none)}`);
    check(none.expected === processes * 3 && none.counted === none.expected - none.lost, name,
      `no protection: expected ${processes * 3} increments and counted = expected - lost, got ${JSON.stringify(none)}`);
    for (const mode of ["semaphore", "atomic"]) {
      const safe = await play(mode, 7, processes);
      check(safe.finished === "true" && safe.lost === 0 && safe.marked === 0 && safe.counted === processes * 3, name,
        `seed 7, ${processes} workers, ${mode}: expected no lost update and ${processes * 3} counted, got ${JSON.stringify(safe)}`);
    }
  }
  // The same seed gives the same run, and many seeds never lose an update when protected.
  for (let seed = 1; seed <= 12; seed++) {
    for (const mode of ["semaphore", "atomic"]) {
      const r = await play(mode, seed, 3);
      if (!check(r.lost === 0, name, `seed ${seed}, ${mode}: ${r.lost} lost updates`)) break;
    }
  }
  const first = await play("none", 11, 3);
  const again = await play("none", 11, 3);
  check(JSON.stringify(first) === JSON.stringify(again), name, "the same seed played twice gave two different runs");

  // The keyboard: 1, 2, 2, 2, 1, 1 loses worker 2's update; a blocked worker under the semaphore.
  await viz.locator('input[data-mode="none"]').check();
  await viz.locator('select[data-control="processes"]').selectOption("2");
  await viz.focus();
  for (const key of ["1", "2", "2", "2", "1", "1"]) await page.keyboard.press(key);
  check(await viz.getAttribute("data-lost") === "1" && await viz.locator(".rv-lost-badge").count() === 1, name,
    "keys 1 2 2 2 1 1 should mark one LOST UPDATE");
  await page.keyboard.press("u");
  check(await viz.getAttribute("data-lost") === "0", name, "U should undo the losing store");
  await page.keyboard.press("m"); // semaphore
  await page.keyboard.press("1");
  await page.keyboard.press("2");
  check(await viz.locator(".rv-lane.rv-blocked").count() === 1 && await viz.getAttribute("data-mode") === "semaphore", name,
    "under the semaphore, worker 2's P while worker 1 holds it should show worker 2 blocked");
  await page.screenshot({ path: path.join(outDir, "visualizer-semaphore-1024x768-light.png") });

  // Replay of a recorded trace.
  await viz.locator('input[data-control="trace-file"]').setInputFiles(path.join(here, "fixtures", "lesson04-trace.jsonl"));
  await viz.locator('button[data-action="end"]').click();
  const info = await viz.locator('[data-role="replay-info"]').innerText();
  const replay = { mode: await viz.getAttribute("data-mode"), lost: Number(await viz.getAttribute("data-lost")), expected: Number(await viz.getAttribute("data-expected")), counted: Number(await viz.getAttribute("data-counted")) };
  const fixture = fs.readFileSync(path.join(here, "fixtures", "lesson04-trace.jsonl"), "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l));
  const stores = fixture.filter((r) => r.kind === "event" && r.event === "store");
  const last = stores.sort((a, b) => a.t_ns - b.t_ns).at(-1);
  check(replay.mode === "replay" && replay.expected === stores.length && replay.counted === last.value && /events of \d+ processes/.test(info), name,
    `replaying the fixture: expected ${stores.length} stores ending at ${last.value}, got ${JSON.stringify(replay)} (${info})`);
  await page.screenshot({ path: path.join(outDir, "visualizer-replay-1024x768-light.png") });
  // The page's own recorded run is the fixture, and replays the same way.
  const sample = await page.evaluate(() => window.RACE_VISUALIZER_SAMPLE && window.RACE_VISUALIZER_SAMPLE.text);
  check(sample === fs.readFileSync(path.join(here, "fixtures", "lesson04-trace.jsonl"), "utf8"), name,
    "race-visualizer-sample.js does not hold book/tests/fixtures/lesson04-trace.jsonl");
  await viz.locator('button[data-action="leave-replay"]').click();
  await viz.locator('button[data-action="replay-sample"]').click();
  await viz.locator('button[data-action="end"]').click();
  check(await viz.getAttribute("data-mode") === "replay" && Number(await viz.getAttribute("data-counted")) === last.value &&
    Number(await viz.getAttribute("data-expected")) === stores.length, name, "the recorded run's button does not replay it");
  check(page.problems.length === 0, name, page.problems.join("; "));
  await page.context().close();

  // From a file, without a server.
  const local = await newPage({ width: 1280, height: 800, theme: "coal" });
  await local.goto("file://" + path.join(root, name));
  await local.locator(".race-visualizer").first().focus();
  for (const key of ["1", "2", "2", "2", "1", "1"]) await local.keyboard.press(key);
  check(await local.locator(".race-visualizer").getAttribute("data-lost") === "1" && local.problems.filter((p) => !p.includes("toc.html")).length === 0,
    name + " (file://)", `the visualizer does not work from a file: ${local.problems.join("; ")}`);
  await local.screenshot({ path: path.join(outDir, "visualizer-lost-1280x800-coal.png") });
  await local.context().close();
}

lap("visualizer on a projector");
// ---- the race visualizer at 1024x768: its controls and the effect of a step, on one screen -------

// Scrolled so that its top sits just under mdBook's menu bar, the visualizer shows, without
// scrolling, its controls, the workers, the counter and the figures, the status line, and the
// last timeline row and log line after a step (each within its own scrolling panel too).
async function offScreen(page, replay = false) {
  return page.evaluate((replay) => {
    const root = document.querySelector(".race-visualizer");
    const bar = document.getElementById("mdbook-menu-bar");
    const header = bar ? bar.offsetHeight : 0;
    window.scrollTo(0, root.getBoundingClientRect().top + window.scrollY - header);
    const bad = [];
    const seen = (name, node) => {
      if (!node) {
        bad.push(`${name} (missing)`);
        return;
      }
      const r = node.getBoundingClientRect();
      const where = `top ${Math.round(r.top)}, bottom ${Math.round(r.bottom)}`;
      if (r.height === 0) bad.push(`${name} (not shown)`);
      else if (r.top < header - 1 || r.bottom > window.innerHeight + 1 || r.left < -1 ||
        r.right > window.innerWidth + 1) bad.push(`${name} (${where}; the screen is ${header} to ${window.innerHeight})`);
      // Within the panel that scrolls it, if any.
      for (let up = node.parentElement; up && up !== root; up = up.parentElement) {
        const style = getComputedStyle(up);
        if (!/(auto|scroll|hidden)/.test(style.overflowY)) continue;
        const p = up.getBoundingClientRect();
        if (r.top < p.top - 1 || r.bottom > p.bottom + 1) bad.push(`${name} (scrolled out of its panel)`);
        break;
      }
    };
    if (replay) {
      seen("the replay's line", root.querySelector('[data-role="replay-info"]'));
    } else {
      seen("the protection", root.querySelector(".rv-mode"));
      seen("the settings", root.querySelector(".rv-setup"));
    }
    for (const b of root.querySelectorAll(".rv-buttons button")) if (!b.hidden) seen(`the button "${b.textContent}"`, b);
    root.querySelectorAll(".rv-lane").forEach((lane, i) => seen(`worker ${i + 1}`, lane));
    seen("the counter", root.querySelector('[data-role="counter"]'));
    seen("the figures", root.querySelector(".rv-score"));
    seen("the status line", root.querySelector('[data-role="status"]'));
    const rows = root.querySelectorAll("[data-step]");
    seen("the last timeline row", rows[rows.length - 1]);
    seen("the last log line", root.querySelector(".rv-log > li:last-child"));
    return { bad, height: Math.round(root.getBoundingClientRect().height) };
  }, replay);
}
await inParallel(["light", "rust", "coal", "navy", "ayu"], 2, async (theme) => {
  const page = await newPage({ width: 1024, height: 768, theme });
  for (const name of ["lesson04.html", "race-visualizer.html"]) {
    await open(page, name);
    const viz = page.locator(".race-visualizer").first();
    for (const processes of [2, 3]) {
      // Each case: the protection, then the keys pressed after a reset.
      const cases = [
        ["none", ["1", "2", "2", "2", "1", "1"], "keys 1 2 2 2 1 1 (a lost update)"],
        ["semaphore", ["1", "2"], "keys 1 2 under the semaphore (a worker blocked)"],
        ["semaphore", ["e"], "E under the semaphore (run to the end)"],
        ["none", ["n", "n", "n", "n", "n", "n", "n", "n", "n", "n", "n", "n", "n", "n"], "N fourteen times"],
      ];
      for (const [mode, keys, what] of cases) {
        await viz.locator(`input[data-mode="${mode}"]`).check();
        await viz.locator('select[data-control="processes"]').selectOption(String(processes));
        await viz.evaluate((root) => root.focus({ preventScroll: true }));
        await page.keyboard.press("r");
        for (const key of keys) await page.keyboard.press(key);
        const { bad, height } = await offScreen(page);
        check(bad.length === 0, name, `visualizer at 1024x768, ${theme}, ${processes} workers, after ${what}: ` +
          `off the screen: ${bad.join("; ")} (the visualizer is ${height} px tall)`);
      }
    }
    // A replay of the recorded run: three workers, the settings replaced by the replay's line.
    await viz.locator('button[data-action="replay-sample"]').click();
    await viz.evaluate((root) => root.focus({ preventScroll: true }));
    for (let k = 0; k < 12; k++) await page.keyboard.press("n");
    const { bad, height } = await offScreen(page, true);
    check(bad.length === 0, name, `visualizer at 1024x768, ${theme}, replaying the recorded run, after N twelve times: ` +
      `off the screen: ${bad.join("; ")} (the visualizer is ${height} px tall)`);
    await viz.locator('button[data-action="leave-replay"]').click();
    if (theme === "light" || theme === "coal") {
      await page.screenshot({ path: path.join(outDir, `visualizer-on-screen-${name.replace(".html", "")}-1024x768-${theme}.png`) });
    }
  }
  check(page.problems.length === 0, `visualizer (${theme})`, page.problems.join("; "));
  await page.context().close();
});

lap("failing schedule");
// ---- the failing schedule's page: the sample drawn, another saved run opened, folds, keys ----

{
  const name = "failing-schedule.html";
  const sampleFile = path.join(here, "..", "src", "failing-schedule-sample.json");
  const otherFile = path.join(here, "fixtures", "failing-schedule-seed5.json");
  const sampleRun = JSON.parse(fs.readFileSync(sampleFile, "utf8"));
  const otherRun = JSON.parse(fs.readFileSync(otherFile, "utf8"));
  const markedOf = (run) => run.rows.filter((r) => r.marked).map((r) => String(r.number));
  check(markedOf(sampleRun).length === 3 && markedOf(otherRun).length === 3, name,
    "the sample and the second saved run should each have 3 marked rows");

  // What is drawn: the rows, the marked ones (and whether they look marked), the preemption
  // lines, the folds, the diagnosis and the replay command.
  async function drawn(page) {
    return page.$eval(".failing-schedule", (root) => {
      const rows = [...root.querySelectorAll("tr.fs-row")];
      const plainRow = rows.find((r) =>
        !r.classList.contains("fs-marked") && !r.classList.contains("fs-current"));
      const background = (tr) =>
        tr ? getComputedStyle(tr.querySelector("td.fs-here")).backgroundColor : "";
      const marked = rows.filter((r) => r.classList.contains("fs-marked"));
      return {
        source: root.getAttribute("data-source"),
        rows: Number(root.getAttribute("data-rows")),
        shown: rows.length,
        numbers: rows.map((r) => r.getAttribute("data-number")),
        marked: marked.map((r) => r.getAttribute("data-number")),
        markedLook: marked.every((r) => background(r) !== background(plainRow) &&
          r.querySelector("td.fs-here").textContent.startsWith("◆ ")),
        preemptions: [...root.querySelectorAll("tr.fs-preemption")].map((t) => t.textContent),
        folds: [...root.querySelectorAll("tr.fs-fold button")]
          .map((b) => Number(/\d+/.exec(b.textContent)[0])),
        diagnosis: root.querySelector('[data-role="diagnosis"]').textContent,
        command: (root.querySelector('[data-role="command"]') || {}).textContent,
        current: root.getAttribute("data-current"),
        error: root.querySelector(".fs-status.fs-error")
          ? root.querySelector(".fs-status").textContent : null,
      };
    });
  }
  function agrees(got, run, source, what) {
    const shown = (r) => got.numbers.includes(String(r.number));
    const preempted = run.rows.filter((r) => r.preempted !== null && shown(r));
    const folded = got.folds.reduce((a, b) => a + b, 0);
    const total = run.rows.length;
    check(got.source === source && got.rows === total && got.shown + folded === total, name,
      `${what}: expected ${total} rows from ${source}, shown or folded; got ` +
      JSON.stringify({ source: got.source, rows: got.rows, shown: got.shown, folded }));
    check(got.folds.length >= 1 && got.shown < total, name,
      `${what}: a long run should be folded (${got.folds.length} folds)`);
    check(JSON.stringify(got.marked) === JSON.stringify(markedOf(run)) && got.markedLook, name,
      `${what}: the marked rows ${markedOf(run)} should be highlighted with ◆; ` +
      `got ${got.marked} (look ${got.markedLook})`);
    check(got.preemptions.length === preempted.length &&
      preempted.every((r, i) =>
        got.preemptions[i] === `── ${r.preempted} preempted: ${r.process} goes`), name,
      `${what}: preemption lines ${JSON.stringify(got.preemptions)}`);
    check(run.rows.filter((r) => r.preempted !== null || r.marked).every(shown), name,
      `${what}: every marked row and every preemption should be shown, not folded`);
    check(got.diagnosis === "Diagnosis: " + run.diagnosis.replace(/`/g, "") &&
      got.command ===
        `cargo run --bin workbook -- check ${run.token.split(":")[0]} --replay ${run.token}`,
      name,
      `${what}: the diagnosis and the replay command: ${got.diagnosis} / ${got.command}`);
  }

  const page = await newPage({ width: 1024, height: 768 });
  await open(page, name);
  const viewer = page.locator(".failing-schedule");
  agrees(await drawn(page), sampleRun, "sample", "the sample");
  await page.screenshot({ path: path.join(outDir, "failing-schedule-1024x768-light.png") });

  // The keys: N steps to the first row, M to each marked row, U back, E to the end, R the start.
  await viewer.focus();
  const keys = async (...pressed) => {
    for (const key of pressed) await page.keyboard.press(key);
    return viewer.getAttribute("data-current");
  };
  const first = await drawn(page);
  check(await keys("n") === first.numbers[0] && await keys("ArrowDown") === first.numbers[1], name,
    "N and the down arrow should step to the first rows");
  const marks = [await keys("m"), await keys("m"), await keys("m")];
  check(JSON.stringify(marks) === JSON.stringify(markedOf(sampleRun)), name,
    `M three times went to rows ${marks}`);
  const before = first.numbers[first.numbers.indexOf(marks[2]) - 1];
  check(await keys("u") === before, name, `U should step back to row ${before}`);
  const end = await keys("e");
  check(end === String(sampleRun.rows.length) || end.startsWith("fold"), name,
    "E should go to the last row or fold");
  check(await keys("r") === first.numbers[0], name, "R should go back to the first row");
  // The marked row is in view in its panel after M, and the page did not move.
  await page.evaluate(() =>
    window.scrollTo(0, document.querySelector(".failing-schedule").offsetTop));
  const scrolled = await page.evaluate(() => window.scrollY);
  await keys("r", "m", "m", "m");
  const inView = await page.$eval(".failing-schedule", (root) => {
    const current = root.querySelector("tr.fs-current").getBoundingClientRect();
    const panel = root.querySelector(".fs-panel").getBoundingClientRect();
    return current.top >= panel.top - 1 && current.bottom <= panel.bottom + 1;
  });
  check(inView && await page.evaluate(() => window.scrollY) === scrolled, name,
    "after M, the marked row should be in view in the panel, and the page should stay still");

  // A fold opens: by a click, then by Enter on the next one.
  const folds = first.folds;
  await viewer.locator("tr.fs-fold button").first().click();
  const opened = await drawn(page);
  check(opened.shown === first.shown + folds[0] && opened.folds.length === folds.length - 1, name,
    `a click on the first fold (${folds[0]} rows) should show them: ` +
    `${first.shown} rows shown, now ${opened.shown}`);
  await viewer.focus();
  await keys("r");
  let current = await viewer.getAttribute("data-current");
  for (let k = 0; k < 200 && current && !current.startsWith("fold"); k++) current = await keys("n");
  await keys("Enter");
  const entered = await drawn(page);
  check(entered.shown === opened.shown + opened.folds[0], name,
    `Enter on a fold should open it (${opened.shown} to ${entered.shown})`);
  await keys("a");
  const all = await drawn(page);
  check(all.shown === sampleRun.rows.length && all.folds.length === 0, name,
    `A should open every fold (${all.shown} rows shown)`);

  // Another saved run, through the file input, redraws everything; a file that is not one
  // says so and keeps the drawing.
  await viewer.locator('input[data-control="schedule-file"]').setInputFiles(otherFile);
  const sourceIs = (source) => page.waitForFunction((source) =>
    document.querySelector(".failing-schedule").getAttribute("data-source") === source, source);
  const fileInput = viewer.locator('input[data-control="schedule-file"]');
  await sourceIs("failing-schedule-seed5.json");
  agrees(await drawn(page), otherRun, "failing-schedule-seed5.json", "the seed 5 file");
  await fileInput.setInputFiles(path.join(here, "fixtures", "lesson04-trace.jsonl"));
  await page.waitForFunction(() => document.querySelector(".failing-schedule .fs-error"));
  const refused = await drawn(page);
  check(refused.source === "failing-schedule-seed5.json" &&
    /Cannot draw lesson04-trace.jsonl: it is not JSON/.test(refused.error), name,
    `a trace file should be refused with a sentence, the drawing kept: ${refused.error}`);
  // Dropped on the drawing.
  await viewer.evaluate((node, text) => {
    const transfer = new DataTransfer();
    transfer.items.add(new File([text], "dropped.json", { type: "application/json" }));
    for (const type of ["dragover", "drop"]) {
      const init = { dataTransfer: transfer, bubbles: true, cancelable: true };
      node.dispatchEvent(new DragEvent(type, init));
    }
  }, fs.readFileSync(sampleFile, "utf8"));
  await sourceIs("dropped.json");
  agrees(await drawn(page), sampleRun, "dropped.json", "a dropped file");
  await viewer.locator('button[data-action="show-sample"]').click();
  check((await drawn(page)).source === "sample", name,
    "the sample's button should draw the sample again");
  check(page.problems.length === 0, name, page.problems.join("; "));
  await page.context().close();

  // Every theme, at both widths, with every fold open (the longest texts): nothing scrolls
  // sideways, no label under 12 px, every text readable on its background (contrast 4.5).
  await inParallel(["light", "rust", "coal", "navy", "ayu"], 2, async (theme) => {
    for (const [width, height] of [[1024, 768], [1280, 800]]) {
      const page = await newPage({ width, height, theme });
      await open(page, name);
      for (const state of ["folded", "open", "seed 5"]) {
        const viewer = page.locator(".failing-schedule");
        if (state === "open") await viewer.locator('button[data-action="open-all"]').click();
        if (state === "seed 5") {
          await viewer.locator('input[data-control="schedule-file"]').setInputFiles(otherFile);
        }
        await page.waitForTimeout(50);
        await page.locator(".failing-schedule").focus();
        await page.keyboard.press("m");
        const where = `${theme}, ${width}x${height}, ${state}`;
        const looks = await page.evaluate(() => {
          const root = document.querySelector(".failing-schedule");
          // rgb(r, g, b[, a]), or color(srgb r g b[ / a]) with 0 to 1 (what color-mix gives).
          const rgb = (c) => {
            const v = (c.match(/[\d.]+/g) || []).map(Number);
            if (!c.startsWith("color(")) return v.slice(0, 4);
            return v.slice(0, 3).map((x) => x * 255).concat(v.slice(3, 4));
          };
          const luminance = ([r, g, b]) => [r, g, b].map((v) => {
            v /= 255;
            return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
          }).reduce((sum, v, i) => sum + v * [0.2126, 0.7152, 0.0722][i], 0);
          // The colour behind a node: the first opaque background up its ancestors.
          const behind = (node) => {
            for (let n = node; n; n = n.parentElement) {
              const c = rgb(getComputedStyle(n).backgroundColor);
              if (c.length === 3 || c[3] > 0.5) return c;
            }
            return [255, 255, 255];
          };
          let smallest = { px: Infinity, text: "" };
          let worst = { ratio: Infinity, text: "" };
          const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
          for (let t = walker.nextNode(); t; t = walker.nextNode()) {
            const node = t.parentElement;
            if (!t.textContent.trim() || !node.getClientRects().length) continue;
            const style = getComputedStyle(node);
            const px = parseFloat(style.fontSize);
            if (px < smallest.px) smallest = { px, text: t.textContent.trim().slice(0, 40) };
            const a = luminance(rgb(style.color));
            const b = luminance(behind(node));
            const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
            if (ratio < worst.ratio) worst = { ratio, text: t.textContent.trim().slice(0, 40) };
          }
          const panel = root.querySelector(".fs-panel");
          return {
            page: document.documentElement.scrollWidth - window.innerWidth,
            panel: panel.scrollWidth - panel.clientWidth,
            smallest, worst,
          };
        });
        check(looks.page <= 0 && looks.panel <= 0, name, `${where}: scrolls sideways ` +
          `(page by ${looks.page} px, the lanes by ${looks.panel} px)`);
        check(looks.smallest.px >= 12, name,
          `${where}: "${looks.smallest.text}" is ${looks.smallest.px} px (at least 12)`);
        check(looks.worst.ratio >= 4.5, name, `${where}: "${looks.worst.text}" has a contrast ` +
          `of ${looks.worst.ratio.toFixed(2)} (at least 4.5)`);
        if (state === "folded" && (theme === "light" || theme === "coal")) {
          const shot = `failing-schedule-${width}x${height}-${theme}.png`;
          await page.screenshot({ path: path.join(outDir, shot) });
        }
      }
      check(page.problems.length === 0, `${name} (${theme})`, page.problems.join("; "));
      await page.context().close();
    }
  });

  // From a file, without a server: the sample is in the page itself.
  const local = await newPage({ width: 1024, height: 768, theme: "navy" });
  await local.goto("file://" + path.join(root, name));
  const fromFile = await drawn(local);
  const problems = local.problems.filter((p) => !p.includes("toc.html"));
  check(fromFile.source === "sample" && fromFile.marked.length === 3 && problems.length === 0,
    name + " (file://)",
    `the sample does not draw from a file: ${fromFile.marked} ${problems.join("; ")}`);
  await local.context().close();
}

lap("print");
// ---- print.html: every quiz question and answer, every instructor note ---------------------------

{
  const name = "print.html";
  const page = await newPage({ width: 1024, height: 768 });
  await open(page, name);
  const appendix = page.locator('[data-role="quiz-appendix"]');
  check(await appendix.count() === 1, name, "no quiz appendix");
  const text = plain(await appendix.innerText());
  const missing = allQuestions.filter(({ question }) => {
    const prompt = plain(question.prompt.prompt).slice(0, 60);
    const answer = plain(Array.isArray(question.answer.answer) ? question.answer.answer[0] : question.answer.answer).slice(0, 40);
    return !text.includes(prompt) || !text.includes(answer);
  });
  check(missing.length === 0, name, `${missing.length} quiz questions or answers missing from the appendix, e.g. ${missing[0] ? `"${missing[0].question.prompt.prompt.slice(0, 60)}" (${missing[0].page})` : ""}`);
  check(await appendix.locator(".wb-question").count() === allQuestions.length, name,
    `the appendix holds ${await appendix.locator(".wb-question").count()} questions, the quizzes ${allQuestions.length}`);
  const closed = await page.$$eval("main details", (all) => all.filter((d) => !d.open).length);
  const notes = await page.$$eval("main details", (all) => all.length);
  check(notes >= 14 && closed === 0, name, `${closed} of ${notes} instructor notes are collapsed`);
  await page.emulateMedia({ media: "print" });
  const pdf = await page.pdf({ format: "A4" }).catch(() => null);
  if (pdf) fs.writeFileSync(path.join(outDir, "print.pdf"), pdf);
  check(page.problems.length === 0, name, page.problems.join("; "));
  await page.context().close();
}

lap("screenshots");
// ---- screenshots for a person to look at --------------------------------------------------------------

for (const [width, height] of [[1024, 768], [1280, 800]]) {
  for (const theme of ["light", "coal"]) {
    const page = await newPage({ width, height, theme });
    for (const [name, anchor] of [["lesson04.html", "a-real-run"], ["lesson03.html", null], ["cheat-sheet.html", null], ["race-visualizer.html", null]]) {
      await open(page, name + (anchor ? "#" + anchor : ""));
      await page.waitForTimeout(100);
      await page.screenshot({ path: path.join(outDir, `${name.replace(".html", "")}-${width}x${height}-${theme}.png`) });
    }
    await page.context().close();
  }
}

await browser.close();
server.close();
lap("end");
laps.pop();

const seconds = ((Date.now() - started) / 1000).toFixed(1);
console.log(`book in the browser: ${pages.length} pages, ${quizzes} quizzes, ${allQuestions.length} questions, ${diagramsSeen.size} diagrams, in ${seconds} s (screenshots in ${path.relative(process.cwd(), outDir) || outDir})`);
console.log("time: " + laps.map((l) => `${l.name} ${l.seconds.toFixed(1)} s`).join(", "));
for (const failure of failures) console.log(`FAIL ${failure}`);
console.log(`${passed} passed, ${failures.length} failed`);
process.exit(failures.length ? 1 : 0);
