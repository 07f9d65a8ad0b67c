// One round of the JavaScript side of bench/crypto_verify.py: the libraries upstream FluxOS
// verifies with (bitcoinjs-message 2.2 for Bitcoin signed messages, nano-ethereum-signer
// 0.1 for personal_sign). Reads a JSON job from argv[2], prints verifications/s as JSON.
// Time is this process's CPU time (process.cpuUsage), like the Python side.
'use strict';

const bitcoinMessage = require('bitcoinjs-message');
const nanoEthSigner = require('nano-ethereum-signer');

const job = JSON.parse(process.argv[2]);

function ethHash(message) {
  // EIP-191 over the message bytes; the bench messages are ASCII, where upstream's
  // conversion gives the same bytes.
  const body = Buffer.from(message, 'latin1');
  const prefix = Buffer.from(`\x19Ethereum Signed Message:\n${body.length}`);
  return nanoEthSigner.keccak(Buffer.concat([prefix, body]));
}

const checks = {
  bitcoin: () => bitcoinMessage.verify(job.btc.message, job.btc.address, job.btc.signature),
  ethereum: () => nanoEthSigner.signerAddress(ethHash(job.eth.message), job.eth.signature)
    .toLowerCase() === job.eth.address.toLowerCase(),
};

function cpuSeconds() {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1e6;
}

const result = {};
for (const [name, check] of Object.entries(checks)) {
  const iterations = job.iterations[name];
  if (!check()) throw new Error(`${name} vector does not verify`);
  for (let i = 0; i < job.warmup; i += 1) check();
  // Best of a few short runs, as on the Python side.
  let best = 0;
  for (let r = 0; r < job.repeats; r += 1) {
    const start = cpuSeconds();
    for (let i = 0; i < iterations; i += 1) check();
    best = Math.max(best, iterations / (cpuSeconds() - start));
  }
  result[name] = best;
}
process.stdout.write(JSON.stringify(result));
