// Drives the review view in headless Chromium through host.html, for tests/test_apps.py.
//
// stdin, one JSON line each: first the plan {html, input, result, theme, click, typed, failure, out,
// chromium}, then one {"result": ...} answer per {"call": ...} line this script writes to stdout (the
// test hands each tools/call the view makes to the real MCP server). The last stdout line is {"report": ...}: what the
// DOM showed, the messages exchanged, and the screenshots taken. Logs go to stderr.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath, pathToFileURL } from "node:url";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
const readJson = async () => {
  const { value, done } = await lines.next();
  if (done) throw new Error("stdin closed before the expected line");
  return JSON.parse(value);
};
const write = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");

const plan = await readJson();
const profile = mkdtempSync(join(tmpdir(), "nemo-review-chromium-"));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: plan.chromium,
  headless: true,
  viewport: { width: 800, height: 600 },
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const report = { requests: [], errors: [], calls: [], screenshots: {} };
try {
  const page = context.pages()[0] ?? (await context.newPage());
  page.on("request", (r) => {
    const url = r.url();
    if (!/^(file|data|about|blob):/.test(url)) report.requests.push(url);
  });
  page.on("pageerror", (e) => report.errors.push(String(e)));
  page.on("console", (m) => { if (m.type() === "error") report.errors.push(m.text()); });
  // The host forwards the view's tools/call here; the test answers it from the MCP server.
  await page.exposeFunction("forwardToolCall", async (params) => {
    report.calls.push(params);
    write({ call: params });
    return (await readJson()).result;
  });
  await page.goto(pathToFileURL(join(here, "host.html")).href);
  await page.evaluate((p) => window.startHost(p), { html: plan.html, input: plan.input, result: plan.result, theme: plan.theme });

  const view = page.frameLocator("#view");
  const frames = view.locator(".frame[data-time]");
  await frames.nth(plan.result.structuredContent.frames.length - 1).waitFor({ timeout: 15000 });
  await view.locator("#chapters .row").first().waitFor({ timeout: 15000 });
  await page.waitForTimeout(150); // let the host follow the last size-changed
  report.frame_times = await frames.evaluateAll((els) => els.map((e) => Number(e.dataset.time)));
  report.frame_labels = await frames.evaluateAll((els) => els.map((e) => e.querySelector(".time").textContent));
  report.chapters = await view.locator("#chapters .row").allTextContents();
  report.captions = await view.locator("#captions .row").allTextContents();
  report.summary = await view.locator("#summary").textContent();
  const frameBox = await page.locator("#view").boundingBox();
  report.iframe = frameBox;
  report.tiles = await frames.evaluateAll((els) => els.map((e) => {
    const r = e.querySelector("canvas").getBoundingClientRect();
    return { x: r.x, y: r.y, w: r.width, h: r.height };
  }));
  report.screenshots.sheet = join(plan.out, "review-sheet.png");
  await page.screenshot({ path: report.screenshots.sheet, fullPage: true });

  await frames.nth(plan.click).click();
  const clicked = report.frame_times[plan.click];
  await view.locator(`#still[data-time="${clicked}"]`).waitFor({ state: "visible", timeout: 30000 });
  report.still = await view.locator("#still").evaluate((img) => {
    const r = img.getBoundingClientRect();
    return { time: Number(img.dataset.time), alt: img.alt, natural: [img.naturalWidth, img.naturalHeight],
             box: { x: r.x, y: r.y, w: r.width, h: r.height } };
  });
  report.pressed = await view.locator('.frame[aria-pressed="true"]').evaluateAll((els) => els.map((e) => Number(e.dataset.time)));
  report.current_chapter = await view.locator("#chapters .row.current").allTextContents();
  report.status = await view.locator("#status").textContent();
  report.screenshots.frame = join(plan.out, "review-frame.png");
  await page.screenshot({ path: report.screenshots.frame, fullPage: true });

  // Typing a time: a malformed one is refused in place, a good one asks the server for that moment.
  const time = view.locator("#time");
  await time.fill("abc");
  await time.press("Enter");
  report.refused = { status: await view.locator("#status").textContent(),
                     error: await view.locator("#status.error").count(), calls: report.calls.length };
  await time.fill(plan.typed);
  await time.press("Enter");
  await view.locator(`#still:not([data-time="${clicked}"])`).waitFor({ timeout: 30000 });
  report.typed = { time: Number(await view.locator("#still").getAttribute("data-time")),
                   chapter: await view.locator("#chapters .row.current").allTextContents(),
                   caption: await view.locator("#captions .row.current").allTextContents() };

  // The host switches to the other theme; the view follows it.
  const background = () => view.locator("body").evaluate((b) => getComputedStyle(b).backgroundColor);
  report.background = { [plan.theme]: await background() };
  const other = plan.theme === "dark" ? "light" : "dark";
  await page.evaluate((theme) => window.hostSend({ method: "ui/notifications/host-context-changed", params: { theme } }), other);
  await page.waitForTimeout(100);
  report.background[other] = await background();
  report.screenshots[other] = join(plan.out, `review-${other}.png`);
  await page.screenshot({ path: report.screenshots[other], fullPage: true });

  // A failed preview keeps what is shown and says why.
  await page.evaluate((text) => window.hostSend({ method: "ui/notifications/tool-result",
    params: { isError: true, content: [{ type: "text", text }] } }), plan.failure);
  await view.locator("#status.error").waitFor({ timeout: 10000 });
  report.failure = { status: await view.locator("#status").textContent(),
                     frames: await frames.count(), still: await view.locator("#still").isVisible() };

  report.log = await page.evaluate(() => window.hostLog.map((m) => ({ dir: m.dir, method: m.method, id: m.id, params: m.method === "ui/notifications/size-changed" ? m.params : undefined })));
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}
write({ report });
process.exit(0);
