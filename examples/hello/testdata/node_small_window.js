// Node's built-in HTTP/2 client, as TestNodeClientSmallWindow drives it:
// one connection with initialWindowSize 2048 and 200 concurrent streams,
// every other one a POST /echo of 200-500 KB written in 16 KiB chunks, the
// rest GET /bytes/N. It prints what completed, failed, came back wrong or
// stalled (after 60 s) and exits 0 only when all 200 completed intact.
const http2 = require('node:http2');
const addr = process.argv[2];
const client = http2.connect('http://' + addr, { settings: { initialWindowSize: 2048 } });
let done = 0, failed = 0, bad = 0;
const N = 200;
const deadline = setTimeout(() => {
  console.log(JSON.stringify({ done, failed, bad, stalled: N - done - failed }));
  process.exit(done === N ? 0 : 1);
}, 60000);
for (let i = 0; i < N; i++) {
  if (i % 2 === 0) {
    const size = 200000 + Math.floor(Math.random() * 300000);
    const req = client.request({ ':method': 'POST', ':path': '/echo' });
    let got = 0;
    req.on('data', (d) => { got += d.length; });
    req.on('end', () => { if (got !== size) bad++; done++; finish(); });
    req.on('error', () => { failed++; finish(); });
    const chunk = Buffer.alloc(16384, 'x');
    let sent = 0;
    const write = () => {
      while (sent < size) {
        const n = Math.min(16384, size - sent);
        sent += n;
        if (!req.write(chunk.subarray(0, n))) { req.once('drain', write); return; }
      }
      req.end();
    };
    write();
  } else {
    const n = 1000 + i * 100;
    const req = client.request({ ':path': '/bytes/' + n });
    let got = 0;
    req.on('data', (d) => { got += d.length; });
    req.on('end', () => { if (got !== n) bad++; done++; finish(); });
    req.on('error', () => { failed++; finish(); });
  }
}
function finish() {
  if (done + failed === N) {
    clearTimeout(deadline);
    console.log(JSON.stringify({ done, failed, bad, stalled: 0 }));
    client.close();
    process.exit(failed === 0 && bad === 0 ? 0 : 1);
  }
}
