// Plays an MP4 in headless Chromium and reads back which frame the page shows, for tests/engine/test_render_browser.py.
//
// stdin, one JSON line: the plan {video, chromium, fps, bits, row, wait_ms, seeks: [frame index...],
// plays: [[from_s, to_s]...]}. The video is served from a loopback HTTP server (with byte ranges, as a
// course platform serves a file), so the page may read its pixels. Each frame drawn to a canvas is
// read as the number its bar code shows (bit b: the stripe b at the middle row is light).
// stdout, one JSON line: {"report": {support, loaded, duration, size, errors, media_errors, seeks: [{index, time,
// media_time, shown, stalled?}], plays: [{from, to, frames: [{media_time, shown}], stalled, quality}]}}; a seek that
// does not finish within wait_ms ends the seeks (stalled: true), as a play that does not reach its end. Logs go to stderr.
import { createReadStream, mkdtempSync, rmSync, statSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { chromium } from "playwright-core";

const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
const plan = JSON.parse((await lines.next()).value);
const size = statSync(plan.video).size;
const PAGE = "<!DOCTYPE html><html><body><video id=v muted playsinline></video><canvas id=c></canvas></body></html>";

// Only two paths: the page and the video, the latter with Range support (seeking needs it).
const server = createServer((req, res) => {
  if (req.url === "/") {
    res.writeHead(200, { "content-type": "text/html" }).end(PAGE);
    return;
  }
  if (req.url === "/favicon.ico") {
    res.writeHead(204).end();
    return;
  }
  if (req.url !== "/video.mp4") {
    res.writeHead(404).end();
    return;
  }
  const range = /^bytes=(\d*)-(\d*)$/.exec(req.headers.range ?? "");
  const headers = { "content-type": "video/mp4", "accept-ranges": "bytes" };
  if (!range) {
    res.writeHead(200, { ...headers, "content-length": size });
    createReadStream(plan.video).pipe(res);
    return;
  }
  const start = range[1] === "" ? size - Number(range[2]) : Number(range[1]);
  const end = range[1] !== "" && range[2] !== "" ? Math.min(Number(range[2]), size - 1) : size - 1;
  res.writeHead(206, { ...headers, "content-length": end - start + 1, "content-range": `bytes ${start}-${end}/${size}` });
  createReadStream(plan.video, { start, end }).pipe(res);
});
await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
const origin = `http://127.0.0.1:${server.address().port}`;

const profile = mkdtempSync(join(tmpdir(), "nemo-playback-chromium-"));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: plan.chromium,
  headless: true,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--autoplay-policy=no-user-gesture-required"],
});
const report = { errors: [] };
try {
  const page = context.pages()[0] ?? (await context.newPage());
  page.on("pageerror", (e) => report.errors.push(String(e)));
  page.on("console", (m) => { if (m.type() === "error") report.errors.push(m.text()); });
  await page.goto(origin + "/");
  Object.assign(report, await page.evaluate(async (p) => {
    const video = document.getElementById("v");
    const canvas = document.getElementById("c");
    const errors = [];
    video.addEventListener("error", () => errors.push(`error event: ${video.error?.code} ${video.error?.message}`));
    const support = video.canPlayType('video/mp4; codecs="avc1.640028"');
    // A broken stream can leave a load, a seek or a play waiting forever: give up after a while and say so.
    const within = (ms, start) => new Promise((ok) => {
      const timer = setTimeout(() => ok(false), ms);
      start(() => { clearTimeout(timer); ok(true); });
    });
    video.src = "/video.mp4";
    if (!(await within(p.wait_ms, (ok) => video.addEventListener("loadeddata", ok, { once: true })))) {
      return { support, loaded: false, media_errors: errors, seeks: [], plays: [] };
    }
    canvas.width = video.videoWidth;
    canvas.height = video.videoHeight;
    const g = canvas.getContext("2d", { willReadFrequently: true });
    const stripe = video.videoWidth / p.bits;
    const shown = () => {
      g.drawImage(video, 0, 0);
      const row = g.getImageData(0, p.row, canvas.width, 1).data;
      let n = 0;
      for (let b = 0; b < p.bits; b++) if (row[4 * Math.floor(b * stripe + stripe / 2)] > 128) n |= 1 << b;
      return n;
    };
    // 'seeked' can fire before the new frame reaches the element (a read then shows the previous one), so a
    // seek also waits for the frame callback of the frame it presents, and notes that frame's time.
    let presented = null;
    const seekTo = (time) => within(p.wait_ms, (ok) => {
      let events = 0;
      const both = () => { if (++events === 2) ok(); };
      video.requestVideoFrameCallback((_now, meta) => { presented = meta.mediaTime; both(); });
      video.addEventListener("seeked", both, { once: true });
      video.currentTime = time;
    });
    // A seek lands in the middle of the frame's display interval, so rounding cannot pick a neighbour.
    const seeks = [];
    for (const index of p.seeks) {
      const time = (index + 0.5) / p.fps;
      if (!(await seekTo(time))) {
        seeks.push({ index, time, shown: null, stalled: true });
        break;
      }
      seeks.push({ index, time, media_time: presented, shown: shown() });
    }
    // Playing at the normal rate: every frame the compositor is handed is read in its frame callback.
    const plays = [];
    for (const [from, to] of p.plays) {
      if (!(await seekTo(from))) {
        plays.push({ from, to, frames: [], stalled: true });
        break;
      }
      const before = video.getVideoPlaybackQuality();
      const frames = [];
      const finished = await within(p.wait_ms + 1000 * (to - from), (ok) => {
        const onFrame = (_now, meta) => {
          frames.push({ media_time: meta.mediaTime, shown: shown() });
          if (meta.mediaTime >= to || video.ended) { video.pause(); ok(); } else video.requestVideoFrameCallback(onFrame);
        };
        video.requestVideoFrameCallback(onFrame);
        video.addEventListener("ended", ok, { once: true });
        video.play();
      });
      video.pause();
      const after = video.getVideoPlaybackQuality();
      plays.push({ from, to, frames, stalled: !finished, quality: {
        total: after.totalVideoFrames - before.totalVideoFrames,
        dropped: after.droppedVideoFrames - before.droppedVideoFrames,
        corrupted: after.corruptedVideoFrames - before.corruptedVideoFrames } });
    }
    return { support, loaded: true, duration: video.duration, size: [video.videoWidth, video.videoHeight], seeks, plays,
             media_errors: errors };
  }, plan));
} finally {
  await context.close();
  server.close();
  rmSync(profile, { recursive: true, force: true });
}
process.stdout.write(JSON.stringify({ report }) + "\n");
process.exit(0);
