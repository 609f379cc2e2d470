// Static file server for the browser benchmark: serves the repository root on 127.0.0.1 with
// the headers that make a page cross-origin isolated (COOP same-origin + COEP require-corp),
// which SharedArrayBuffer, wasm threads and performance.measureUserAgentSpecificMemory need.
// It answers HEAD and single byte ranges (wllama asks for a model's size with HEAD) and sends
// an ETag so that a warm visit revalidates with 304, as a real deployment would, instead of
// re-downloading the engine's JS and wasm.
//
//   node bench/browser/server.mjs [--port 8788]   → prints "listening on http://127.0.0.1:PORT"

import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const TYPES = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.mjs': 'text/javascript; charset=utf-8',
  '.json': 'application/json', '.wasm': 'application/wasm', '.bin': 'application/octet-stream',
  '.jinja': 'text/plain; charset=utf-8', '.gguf': 'application/octet-stream',
};

export function startServer({ port = 0, root = ROOT } = {}) {
  const stats = { requests: 0, bytes: 0 };
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    const file = path.join(root, decodeURIComponent(url.pathname));
    if (!file.startsWith(root + path.sep)) { res.writeHead(403); return res.end(); }
    fs.stat(file, (err, st) => {
      if (err || !st.isFile()) { res.writeHead(404); return res.end('not found'); }
      const etag = `"${st.size.toString(16)}-${Math.floor(st.mtimeMs).toString(16)}"`;
      const headers = {
        'content-type': TYPES[path.extname(file)] || 'application/octet-stream',
        'cache-control': 'no-cache',
        etag,
        'accept-ranges': 'bytes',
        'cross-origin-opener-policy': 'same-origin',
        'cross-origin-embedder-policy': 'require-corp',
        'cross-origin-resource-policy': 'same-origin',
      };
      stats.requests += 1;
      if (req.headers['if-none-match'] === etag) { res.writeHead(304, headers); return res.end(); }
      let start = 0;
      let end = st.size - 1;
      let status = 200;
      const range = /^bytes=(\d*)-(\d*)$/.exec(req.headers.range || '');
      if (range && (range[1] || range[2])) {
        if (range[1]) { start = Number(range[1]); end = range[2] ? Math.min(Number(range[2]), st.size - 1) : st.size - 1; }
        else { start = Math.max(0, st.size - Number(range[2])); }
        if (start > end) { res.writeHead(416, { 'content-range': `bytes */${st.size}` }); return res.end(); }
        status = 206;
        headers['content-range'] = `bytes ${start}-${end}/${st.size}`;
      }
      headers['content-length'] = end - start + 1;
      res.writeHead(status, headers);
      if (req.method === 'HEAD') return res.end();
      stats.bytes += end - start + 1;
      fs.createReadStream(file, { start, end }).pipe(res);
    });
  });
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve({ server, port: server.address().port, stats })));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const i = process.argv.indexOf('--port');
  const { port } = await startServer({ port: i > 0 ? Number(process.argv[i + 1]) : 8788 });
  console.log(`listening on http://127.0.0.1:${port}`);
}
