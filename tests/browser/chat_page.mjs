// End-to-end test of the main job: `lmfast serve` serving the chat page (www/dist) and the
// default export, driven in headless Debian chromium through playwright-core.
//
//   node tests/browser/chat_page.mjs
//
// 1. Cold profile, WebGPU on (SwiftShader, a software adapter, so 'auto' takes the wasm CPU
//    path and says why): open the page, wait for the progress bar to reach 100 % and the model
//    to be ready, set temperature 0 in the settings panel, type the prompt, press Enter, and
//    check the streamed reply equals native `lmfast generate --chat` at temperature 0. Reload:
//    no shard is fetched from the network, the page says "from cache", the same answer.
// 2. The settings switch the backend to WebGPU: the model reloads from the cache onto
//    SwiftShader and streams the same reply (the WGSL decoder repeats the CPU's float steps).
// 3. WebGPU off: 'auto' falls back to the CPU path, says why, and answers the same.
// 4. Gemma 3 270M, a base model: `/v1/models` lists it (no chat), `/v1/completions` continues
//    text as native does, and the page loads it from `?model=` and continues the visitor's
//    text with native's greedy tokens instead of applying a chat format it was not trained on.
// Screenshots and timings go to tests/artifacts/chat-page/.
//
// Needs: target/release/lmfast (with `serve`), www/dist (scripts/build-www.sh) and
// models/smollm2-135m-q4 and models/gemma3-270m-q4 (scripts/test.sh makes them).

import { chromium } from 'playwright-core';
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const LMFAST = path.join(ROOT, 'target', 'release', 'lmfast');
const EXPORT = path.join(ROOT, 'models', 'smollm2-135m-q4');
const GEMMA = 'gemma3-270m-q4';
const GEMMA_PROMPT = 'The capital of France is';
const ARTIFACTS = path.join(ROOT, 'tests', 'artifacts', 'chat-page');
const WEBGPU_ARGS = ['--enable-unsafe-webgpu', '--headless=new', '--no-sandbox', '--use-angle=swiftshader', '--enable-features=Vulkan'];
const NO_WEBGPU_ARGS = ['--headless=new', '--no-sandbox', '--disable-webgpu'];
const PROMPT = process.env.LMFAST_CHAT_PROMPT || 'Write a haiku about the sea.';
const MAX_TOKENS = Number(process.env.LMFAST_CHAT_TOKENS || 24);
// SwiftShader runs WebGPU on the CPU: ~1 token/s here, so generous limits.
const LOAD_TIMEOUT = 300_000;
const REPLY_TIMEOUT = 600_000;

fs.mkdirSync(ARTIFACTS, { recursive: true });

/** Native greedy output of the export `dir` for `prompt`: a chat reply, or with `chat: false`
 *  the plain continuation a base model gives. */
function native(prompt, { dir = EXPORT, chat = true } = {}) {
  const out = execFileSync(LMFAST, ['generate', '--model', dir, ...(chat ? ['--chat'] : []), '--prompt', prompt,
    '--temperature', '0', '--max-tokens', String(MAX_TOKENS), '--json'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'ignore'] });
  return JSON.parse(out.toString()).text;
}

/** Starts `lmfast serve --port 0` and resolves to its URL once it prints it. */
function startServe() {
  const child = spawn(LMFAST, ['serve', '--models', path.join(ROOT, 'models'), '--www', path.join(ROOT, 'www', 'dist'), '--port', '0'],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`lmfast serve printed no URL in 60 s:\n${output}`)), 60_000);
    const onData = (d) => {
      output += d.toString();
      const m = output.match(/http:\/\/[0-9.]+:\d+\//);
      if (m) { clearTimeout(timer); resolve({ child, url: m[0] }); }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`lmfast serve exited (${code}):\n${output}`)); });
  });
}

async function withBrowser(args, profile, fn) {
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium', args, headless: true, viewport: { width: 1100, height: 800 },
  });
  const page = context.pages()[0] || (await context.newPage());
  const logs = [];
  page.on('console', (m) => logs.push(`[console] ${m.text()}`));
  page.on('pageerror', (e) => logs.push(`[pageerror] ${e.message}`));
  // Every request of the page and its worker: a warm load must fetch no shard.
  const requests = [];
  context.on('request', (r) => requests.push(new URL(r.url()).pathname));
  // The highest value the progress bar showed (it is replaced by the chat once loaded).
  await context.addInitScript(() => {
    window.__maxProgress = 0;
    // How many different lengths the newest reply had while it grew: streaming shows many.
    window.__replyLengths = new Set();
    new MutationObserver(() => {
      const bar = document.querySelector('[data-testid=progress]');
      if (bar) window.__maxProgress = Math.max(window.__maxProgress, Number(bar.getAttribute('aria-valuenow') || 0));
      const reply = [...document.querySelectorAll('[data-testid=reply] .markdown')].pop();
      if (reply) window.__replyLengths.add(reply.textContent.length);
    }).observe(document, { subtree: true, childList: true, characterData: true, attributes: true, attributeFilter: ['aria-valuenow'] });
  });
  try {
    return await fn(page, requests);
  } catch (e) {
    console.error(logs.slice(-30).join('\n'));
    await page.screenshot({ path: path.join(ARTIFACTS, 'failure.png') }).catch(() => {});
    throw e;
  } finally {
    await context.close();
  }
}

/** Opens the page and waits for the model; returns seconds from navigation to ready. */
async function openAndLoad(page, url, shotWhileLoading = null) {
  const t0 = Date.now();
  await page.goto(url);
  if (shotWhileLoading) {
    await page.waitForSelector('[data-testid=progress]', { timeout: LOAD_TIMEOUT });
    await page.screenshot({ path: path.join(ARTIFACTS, shotWhileLoading) });
  }
  await page.waitForSelector('[data-testid=loaded]', { timeout: LOAD_TIMEOUT });
  const error = await page.$('[data-testid=error]');
  if (error) throw new Error(`the page shows an error: ${await error.innerText()}`);
  return { t0, loadSeconds: (Date.now() - t0) / 1000 };
}

/** Greedy decoding and a short reply, through the settings panel as a visitor would. */
async function setGreedy(page) {
  await page.click('[data-testid=settings-button]');
  await page.locator('[data-testid=temperature]').evaluate((el) => {
    el.value = '0';
    el.dispatchEvent(new Event('input', { bubbles: true }));
  });
  await page.fill('[data-testid=max-tokens]', String(MAX_TOKENS));
  await page.locator('[data-testid=max-tokens]').dispatchEvent('change');
  await page.click('[aria-label="Close settings"]');
  const stored = await page.evaluate(() => JSON.parse(localStorage.getItem('lmfast.settings.v1')));
  if (stored.temperature !== 0 || stored.max_tokens !== MAX_TOKENS) throw new Error(`settings not applied: ${JSON.stringify(stored)}`);
}

/** Types the prompt, presses Enter, waits for the finished reply; returns it with timings. */
async function ask(page, t0, prompt = PROMPT) {
  await page.fill('[data-testid=prompt]', prompt);
  await page.evaluate(() => window.__replyLengths.clear());
  const sent = Date.now();
  await page.press('[data-testid=prompt]', 'Enter');
  await page.waitForFunction(() => {
    const r = [...document.querySelectorAll('[data-testid=reply]')].pop();
    return r && r.innerText.trim().length > 0;
  }, null, { timeout: REPLY_TIMEOUT, polling: 20 });
  const firstToken = Date.now();
  await page.waitForSelector('[data-testid=reply][data-done=true] [data-testid=reply-stats]:not(:empty)', { timeout: REPLY_TIMEOUT });
  // The raw text the page stored (the DOM holds its Markdown rendering).
  const conversation = await page.evaluate(() => JSON.parse(localStorage.getItem('lmfast.conversation.v1')));
  const last = conversation.messages[conversation.messages.length - 1];
  const stats = await page.locator('[data-testid=reply-stats]').last().innerText();
  const streamedSteps = await page.evaluate(() => window.__replyLengths.size);
  return {
    text: last.content, stats, streamedSteps,
    openToFirstToken: (firstToken - t0) / 1000, sendToFirstToken: (firstToken - sent) / 1000,
  };
}

function check(label, reply, expected) {
  if (reply.text !== expected) {
    throw new Error(`${label}: the page's reply differs from native lmfast's\n  page:   ${JSON.stringify(reply.text)}\n  native: ${JSON.stringify(expected)}`);
  }
  if (reply.streamedSteps < 4) throw new Error(`${label}: the reply appeared in ${reply.streamedSteps} steps, not streamed`);
  if (!/tok\/s/.test(reply.stats) || !/tokens/.test(reply.stats)) throw new Error(`${label}: no figures under the reply: '${reply.stats}'`);
  console.log(`ok   ${label}, streamed in ${reply.streamedSteps} steps: ${JSON.stringify(reply.text)} (${reply.stats})`);
}

const expected = native(PROMPT);
console.log(`native greedy reply to ${JSON.stringify(PROMPT)}: ${JSON.stringify(expected)}`);
const { child, url } = await startServe();
const results = { prompt: PROMPT, max_tokens: MAX_TOKENS, native: expected };
const timing = (load, reply, backend) => ({
  backend, load_seconds: load.loadSeconds, open_to_first_token: reply.openToFirstToken,
  send_to_first_token: reply.sendToFirstToken, stats: reply.stats,
});
const profile = fs.mkdtempSync('/tmp/lmfast-chat-');
const cpuProfile = fs.mkdtempSync('/tmp/lmfast-chat-cpu-');
try {
  // 1. WebGPU on (SwiftShader): 'auto' passes over the software adapter to the CPU path.
  //    Cold load, greedy reply, then a reload that must fetch no shard.
  await withBrowser(WEBGPU_ARGS, profile, async (page, requests) => {
    const cold = await openAndLoad(page, url, 'loading.png');
    const maxProgress = await page.evaluate(() => window.__maxProgress);
    if (maxProgress !== 100) throw new Error(`the progress bar reached ${maxProgress}%, not 100%`);
    const shardRequests = requests.filter((p) => p.startsWith('/models/') && p.endsWith('.bin'));
    if (shardRequests.length === 0) throw new Error('the cold load fetched no shard (is the request log blind?)');
    const backend = await page.locator('[data-testid=backend]').innerText();
    // 'auto' on SwiftShader takes the CPU path and says why; `lmfast serve` isolates the page
    // (COOP/COEP), so that path runs on every core.
    if (!/^CPU \(wasm, \d+ threads\) · .*software fallback/.test(backend)) throw new Error(`expected the CPU path on every core with the reason it was chosen; the page says '${backend}'`);
    console.log(`ok   cold load in ${cold.loadSeconds.toFixed(1)} s, progress bar reached 100 %, ${shardRequests.length} shard requests, backend: ${backend}`);
    await page.screenshot({ path: path.join(ARTIFACTS, 'loaded.png') });
    const chatPlaceholder = await page.getAttribute('[data-testid=prompt]', 'placeholder');
    if (chatPlaceholder !== 'Message the model…') throw new Error(`the first visit should load a chat model: the prompt box says '${chatPlaceholder}'`);
    await setGreedy(page);
    const reply = await ask(page, cold.t0);
    check('reply (cold)', reply, expected);
    await page.screenshot({ path: path.join(ARTIFACTS, 'reply.png') });
    await page.setViewportSize({ width: 390, height: 780 });
    await page.screenshot({ path: path.join(ARTIFACTS, 'reply-phone.png') });
    await page.setViewportSize({ width: 1100, height: 800 });
    results.cold = timing(cold, reply, backend);

    requests.length = 0;
    await page.click('[data-testid=clear]');
    const warm = await openAndLoad(page, url);
    const loaded = await page.locator('[data-testid=loaded]').innerText();
    const refetched = requests.filter((p) => p.startsWith('/models/') && p.endsWith('.bin'));
    if (refetched.length) throw new Error(`the warm load fetched shards from the network: ${refetched.join(', ')}`);
    if (!/from cache/.test(loaded)) throw new Error(`the warm load does not say "from cache": '${loaded}'`);
    console.log(`ok   warm load in ${warm.loadSeconds.toFixed(1)} s, no shard fetched: '${loaded}'`);
    const warmReply = await ask(page, warm.t0);
    check('reply (warm)', warmReply, expected);
    results.warm = timing(warm, warmReply, backend);

    // 2. WebGPU chosen in the settings: the model reloads (from cache) on SwiftShader and
    //    streams native's reply: the WGSL decoder repeats the CPU decoder's float steps.
    requests.length = 0;
    await page.click('[data-testid=clear]');
    await page.click('[data-testid=settings-button]');
    await page.selectOption('[data-testid=backend-select]', 'webgpu');
    const t0 = Date.now();
    await page.click('[data-testid=reload-backend]');
    await page.click('[aria-label="Close settings"]');
    await page.waitForSelector('[data-testid=loaded]', { timeout: LOAD_TIMEOUT });
    const gpuBackend = await page.locator('[data-testid=backend]').innerText();
    if (!/^WebGPU · ./.test(gpuBackend)) throw new Error(`backend 'webgpu' should run on WebGPU; the page says '${gpuBackend}'`);
    if (requests.some((p) => p.endsWith('.bin'))) throw new Error('switching backends fetched shards again');
    const gpuReply = await ask(page, t0);
    if (!/24 tokens|stopped at max tokens/.test(gpuReply.stats) && MAX_TOKENS === 24) throw new Error(`the WebGPU reply did not run to max tokens: ${gpuReply.stats}`);
    if (gpuReply.streamedSteps < 4) throw new Error(`the WebGPU reply appeared in ${gpuReply.streamedSteps} steps, not streamed`);
    check('reply (WebGPU)', gpuReply, expected);
    const same = gpuReply.text.length;
    console.log(`ok   WebGPU (${gpuBackend}) streamed in ${gpuReply.streamedSteps} steps (${gpuReply.stats})`);
    await page.screenshot({ path: path.join(ARTIFACTS, 'reply-webgpu.png') });
    results.webgpu = { ...timing({ loadSeconds: 0 }, gpuReply, gpuBackend), text: gpuReply.text, agreeing_chars: same };
  });

  // 3. WebGPU off: 'auto' falls back to the CPU path, says why, and answers the same.
  await withBrowser(NO_WEBGPU_ARGS, cpuProfile, async (page) => {
    const cold = await openAndLoad(page, url);
    const backend = await page.locator('[data-testid=backend]').innerText();
    if (!/^CPU \(wasm(, \d+ threads)?\) · .*adapter/.test(backend)) throw new Error(`expected the CPU fallback with a reason, the page says '${backend}'`);
    await setGreedy(page);
    const reply = await ask(page, cold.t0);
    check(`CPU fallback reply (${backend})`, reply, expected);
    await page.click('[data-testid=clear]');
    await page.evaluate(() => localStorage.setItem('lmfast.settings.v1', JSON.stringify({ ...JSON.parse(localStorage.getItem('lmfast.settings.v1')), theme: 'dark' })));
    const warm = await openAndLoad(page, url);
    const warmReply = await ask(page, warm.t0);
    check('CPU fallback reply (warm, dark theme)', warmReply, expected);
    await page.screenshot({ path: path.join(ARTIFACTS, 'reply-dark.png') });
    results.no_webgpu_cold = timing(cold, reply, backend);
    results.no_webgpu_warm = timing(warm, warmReply, backend);

    // Regenerate at temperature 0 answers the same question the same way, in place.
    await page.click('[data-testid=regenerate]');
    await page.waitForSelector('[data-testid=reply][data-done=true] [data-testid=reply-stats]:not(:empty)', { timeout: REPLY_TIMEOUT });
    let messages = await page.evaluate(() => JSON.parse(localStorage.getItem('lmfast.conversation.v1')).messages);
    if (messages.length !== 2 || messages[1].content !== expected) throw new Error(`regenerate: ${JSON.stringify(messages)}`);
    console.log('ok   regenerate gives the same greedy reply in place');

    // Edit and resend: the question is replaced and answered afresh.
    const edited = 'Name three colours.';
    await page.click('[data-testid=user-message] button');
    await page.fill('.edit-box', edited);
    await page.click('text=Save & send');
    await page.waitForFunction((edited) => {
      const m = JSON.parse(localStorage.getItem('lmfast.conversation.v1') || '{"messages":[]}').messages;
      return m.length === 2 && m[0].content === edited && m[1].stats;
    }, edited, { timeout: REPLY_TIMEOUT });
    messages = await page.evaluate(() => JSON.parse(localStorage.getItem('lmfast.conversation.v1')).messages);
    const editedExpected = native(edited);
    if (messages[0].content !== edited || messages[1].content !== editedExpected) {
      throw new Error(`edit and resend: ${JSON.stringify(messages)} (native: ${JSON.stringify(editedExpected)})`);
    }
    console.log(`ok   edit and resend: ${JSON.stringify(edited)} → ${JSON.stringify(messages[1].content)} (= native)`);

    // Esc stops a long reply; what was generated stays, marked as stopped.
    await page.click('[data-testid=clear]');
    await page.click('[data-testid=settings-button]');
    await page.fill('[data-testid=max-tokens]', '400');
    await page.locator('[data-testid=max-tokens]').dispatchEvent('change');
    await page.click('[aria-label="Close settings"]');
    await page.fill('[data-testid=prompt]', 'Tell me a long story about a dragon and a knight.');
    await page.press('[data-testid=prompt]', 'Enter');
    await page.waitForFunction(() => {
      const r = [...document.querySelectorAll('[data-testid=reply]')].pop();
      return r && r.innerText.trim().length > 20;
    }, null, { timeout: REPLY_TIMEOUT });
    await page.keyboard.press('Escape');
    await page.waitForSelector('[data-testid=reply][data-done=true] [data-testid=reply-stats]:not(:empty)', { timeout: 30_000 });
    const stopped = await page.locator('[data-testid=reply-stats]').last().innerText();
    const tokens = Number((stopped.match(/(\d+) tokens/) || [])[1]);
    if (!/stopped$/.test(stopped) || !(tokens > 0 && tokens < 400)) throw new Error(`Esc did not stop the reply: '${stopped}'`);
    console.log(`ok   Esc stopped the reply after ${tokens} tokens`);

    // Errors are shown with what to do: a model URL that does not exist ...
    await page.goto(`${url}?model=/models/no-such-model/`);
    await page.waitForSelector('[data-testid=error]', { timeout: 60_000 });
    const missing = await page.locator('[data-testid=error]').innerText();
    const missingCode = await page.locator('[data-testid=error]').getAttribute('data-code');
    if (missingCode !== 'http' || !/manifest\.json/.test(missing) || !(await page.$('[data-testid=retry]'))) {
      throw new Error(`a missing model should give an 'http' error naming manifest.json, with Retry: ${missingCode} '${missing}'`);
    }
    console.log(`ok   a missing model: ${JSON.stringify(missing.split('\n').slice(0, 2).join(' / '))}`);
    await page.screenshot({ path: path.join(ARTIFACTS, 'error-missing-model.png') });
    // ... and WebGPU asked for where there is none offers the CPU, which then loads.
    await page.goto(`${url}?backend=webgpu`);
    await page.waitForSelector('[data-testid=error][data-code=webgpu]', { timeout: 60_000 });
    await page.click('[data-testid=use-cpu]');
    await page.waitForSelector('[data-testid=loaded]', { timeout: LOAD_TIMEOUT });
    const after = await page.locator('[data-testid=backend]').innerText();
    if (!/^CPU \(wasm(, \d+ threads)?\)/.test(after) || (await page.$('[data-testid=error]'))) throw new Error(`'Use CPU' did not recover: '${after}'`);
    console.log("ok   no WebGPU with backend 'webgpu': a 'webgpu' error, and 'Use CPU' loads the model");

    // 4. Gemma 3 270M, a base model, through the server and the page.
    const gemmaExpected = native(GEMMA_PROMPT, { dir: path.join(ROOT, 'models', GEMMA), chat: false });
    const listed = await (await fetch(`${url}v1/models`)).json();
    const entry = listed.data.find((m) => m.id === GEMMA);
    if (!entry || entry.lmfast.chat !== false || entry.lmfast.config.architecture !== 'gemma3') {
      throw new Error(`/v1/models should list ${GEMMA} as a gemma3 base model: ${JSON.stringify(listed.data.map((m) => [m.id, m.lmfast.chat, m.lmfast.config.architecture]))}`);
    }
    const completion = await (await fetch(`${url}v1/completions`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: GEMMA, prompt: GEMMA_PROMPT, temperature: 0, max_tokens: MAX_TOKENS }),
    })).json();
    if (!completion.choices || completion.choices[0].text !== gemmaExpected) {
      throw new Error(`/v1/completions on ${GEMMA}: ${JSON.stringify(completion)} (native: ${JSON.stringify(gemmaExpected)})`);
    }
    console.log(`ok   /v1/models lists ${GEMMA} (gemma3, no chat template); /v1/completions = native: ${JSON.stringify(gemmaExpected)}`);
    await page.click('[data-testid=clear]');
    const gemma = await openAndLoad(page, `${url}?model=/models/${GEMMA}/`);
    const placeholder = await page.getAttribute('[data-testid=prompt]', 'placeholder');
    if (!/base model/.test(placeholder)) throw new Error(`the prompt box should say a base model continues text: '${placeholder}'`);
    await setGreedy(page);
    const gemmaReply = await ask(page, gemma.t0, GEMMA_PROMPT);
    check(`Gemma 3 continuation in the page (loaded in ${gemma.loadSeconds.toFixed(1)} s)`, gemmaReply, gemmaExpected);
    await page.screenshot({ path: path.join(ARTIFACTS, 'reply-gemma3.png') });
    results.gemma3 = { ...timing(gemma, gemmaReply, await page.locator('[data-testid=backend]').innerText()), text: gemmaReply.text };
  });
} finally {
  child.kill('SIGINT');
  fs.rmSync(profile, { recursive: true, force: true });
  fs.rmSync(cpuProfile, { recursive: true, force: true });
}
fs.writeFileSync(path.join(ARTIFACTS, 'timings.json'), JSON.stringify(results, null, 1));
console.log('page open → first token (s):');
for (const k of ['cold', 'warm', 'no_webgpu_cold', 'no_webgpu_warm', 'webgpu', 'gemma3']) {
  const r = results[k];
  if (r) console.log(`  ${k.padEnd(15)} ${r.open_to_first_token.toFixed(2)}  (load ${r.load_seconds.toFixed(2)}, send → first token ${r.send_to_first_token.toFixed(2)}; ${r.backend})`);
}
console.log(`screenshots in ${path.relative(ROOT, ARTIFACTS)}/`);
