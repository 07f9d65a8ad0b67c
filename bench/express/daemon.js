// The daemon passthrough as upstream's stack serves it: Express, fluxd's JSON-RPC over Node's
// http client with a keep-alive agent, at most 5 calls in flight (upstream's AsyncLock(5)),
// a 150-entry block cache and a 50-entry cache for the other calls (fluxos keeps the same
// sizes), and the {status, data} envelope with fluxd's error codes.
// Used only by bench/daemon_routes.py:  node daemon.js <port> <rpc port> <rpc user> <rpc password>
const express = require('express');
const http = require('http');

const [port, rpcPort, rpcUser, rpcPassword] = process.argv.slice(2);
const agent = new http.Agent({ keepAlive: true, maxSockets: 5 });
const authorization = `Basic ${Buffer.from(`${rpcUser}:${rpcPassword}`).toString('base64')}`;

class Lru {
  constructor(max, ttlMs) {
    this.max = max;
    this.ttlMs = ttlMs;
    this.entries = new Map();
  }

  get(key) {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    this.entries.delete(key);
    if (entry.expires < Date.now()) return undefined;
    this.entries.set(key, entry);
    return entry.value;
  }

  set(key, value) {
    this.entries.delete(key);
    this.entries.set(key, { value, expires: Date.now() + this.ttlMs });
    if (this.entries.size > this.max) this.entries.delete(this.entries.keys().next().value);
  }
}

const blockCache = new Lru(150, 3600 * 1000);
const otherCache = new Lru(50, 20 * 1000);

let inFlight = 0;
const waiting = [];
async function slot() {
  if (inFlight < 5) {
    inFlight += 1;
    return;
  }
  await new Promise((resolve) => { waiting.push(resolve); });
}
function release() {
  const next = waiting.shift();
  if (next) next(); else inFlight -= 1;
}

let ids = 0;
function post(method, params) {
  const body = JSON.stringify({ jsonrpc: '2.0', id: ids++ % 1000, method, params });
  return new Promise((resolve, reject) => {
    const request = http.request({
      host: '127.0.0.1',
      port: rpcPort,
      method: 'POST',
      path: '/',
      agent,
      headers: {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(body),
        authorization,
      },
    }, (response) => {
      const chunks = [];
      response.on('data', (chunk) => chunks.push(chunk));
      response.on('end', () => {
        try {
          resolve(JSON.parse(Buffer.concat(chunks).toString()));
        } catch (error) {
          reject(error);
        }
      });
    });
    request.on('error', reject);
    request.end(body);
  });
}

async function executeCall(method, params) {
  const cache = method === 'getblock' ? blockCache : otherCache;
  const key = method + JSON.stringify(params);
  let data = cache.get(key);
  if (data !== undefined) return { status: 'success', data };
  await slot();
  try {
    const reply = await post(method, params);
    if (reply.error) {
      return { status: 'error', data: { code: reply.error.code, name: 'Error', message: reply.error.message } };
    }
    data = reply.result;
    cache.set(key, data);
    return { status: 'success', data };
  } catch (error) {
    return { status: 'error', data: { code: error.code, name: error.name, message: error.message } };
  } finally {
    release();
  }
}

const app = express();
app.get('/daemon/getblock/:hashheight?/:verbosity?', async (req, res) => {
  const hashheight = String(req.params.hashheight || req.query.hashheight);
  const verbosity = Number(req.params.verbosity || req.query.verbosity || 2);
  res.json(await executeCall('getblock', [hashheight, verbosity]));
});
app.get('/daemon/getblockhash/:index?', async (req, res) => {
  const index = req.params.index || req.query.index;
  res.json(await executeCall('getblockhash', index === undefined ? [] : [Number(index)]));
});
app.listen(Number(port), '127.0.0.1', () => console.log(`express daemon passthrough on ${port}`));
