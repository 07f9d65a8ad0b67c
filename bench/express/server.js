// The stack upstream FluxOS serves its API with: Express + apicache, answering the same
// envelopes as fluxos for /flux/version and /flux/uptime. Used only by bench/api_throughput.py.
const express = require('express');
const apicache = require('apicache');

const app = express();
const cache = apicache.middleware;
const started = Date.now();
const port = Number(process.argv[2] || 16199);

app.get('/flux/version', cache('30 seconds'), (req, res) => {
  res.json({ status: 'success', data: '8.17.0' });
});
app.get('/flux/uptime', cache('30 seconds'), (req, res) => {
  res.json({ status: 'success', data: Math.floor((Date.now() - started) / 1000) });
});
app.listen(port, '127.0.0.1', () => console.log(`express listening on ${port}`));
