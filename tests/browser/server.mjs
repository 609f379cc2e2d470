// A static file server for the browser tests: serves the repository root, logs every
// request, and can corrupt a shard on demand (to test the loader's sha256 check).
//
//   node tests/browser/server.mjs [--port 0]  → prints "listening on http://127.0.0.1:PORT"
//
// Control endpoints (test only): GET /__log (JSON list of requested paths), POST /__reset,
// GET /__corrupt?file=NAME&times=N (the next N responses for that file have a flipped byte).
// Every file comes with COOP/COEP (a cross-origin isolated page) unless asked with ?isolated=0.

import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const TYPES = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.mjs': 'text/javascript; charset=utf-8',
  '.json': 'application/json', '.wasm': 'application/wasm', '.bin': 'application/octet-stream',
  '.jinja': 'text/plain; charset=utf-8', '.css': 'text/css', '.png': 'image/png', '.gguf': 'application/octet-stream',
};

export function startServer({ port = 0, root = ROOT } = {}) {
  const log = [];
  const corrupt = new Map();
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    if (url.pathname === '/__log') { res.writeHead(200, { 'content-type': 'application/json' }); return res.end(JSON.stringify(log)); }
    if (url.pathname === '/__reset') { log.length = 0; corrupt.clear(); res.writeHead(204); return res.end(); }
    if (url.pathname === '/__corrupt') {
      corrupt.set(url.searchParams.get('file'), Number(url.searchParams.get('times') || 1));
      res.writeHead(204); return res.end();
    }
    log.push(url.pathname);
    const file = path.join(root, decodeURIComponent(url.pathname));
    if (!file.startsWith(root)) { res.writeHead(403); return res.end(); }
    fs.stat(file, (err, st) => {
      if (err || !st.isFile()) { res.writeHead(404); return res.end('not found'); }
      const headers = {
        'content-type': TYPES[path.extname(file)] || 'application/octet-stream',
        'content-length': st.size,
        'cache-control': 'no-cache',
        'cross-origin-resource-policy': 'same-origin',
      };
      // Pages are cross-origin isolated (threads) unless asked with ?isolated=0.
      if (url.searchParams.get('isolated') !== '0') {
        headers['cross-origin-opener-policy'] = 'same-origin';
        headers['cross-origin-embedder-policy'] = 'require-corp';
      }
      const name = path.basename(file);
      const times = corrupt.get(name) || 0;
      if (times > 0) {
        corrupt.set(name, times - 1);
        const bytes = fs.readFileSync(file);
        bytes[Math.floor(bytes.length / 2)] ^= 0x5a;
        res.writeHead(200, headers);
        return res.end(bytes);
      }
      res.writeHead(200, headers);
      fs.createReadStream(file).pipe(res);
    });
  });
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve({ server, port: server.address().port, log })));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const i = process.argv.indexOf('--port');
  const { port } = await startServer({ port: i > 0 ? Number(process.argv[i + 1]) : 8787 });
  console.log(`listening on http://127.0.0.1:${port}`);
}
