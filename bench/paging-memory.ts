// Memory while streaming: 2 000 000 records (pages of 1000, six typed fields) through a compiled
// method. Peak RSS of this process is sampled every 10 ms and after every page; the server runs
// in a child process, so the figure is the runtime's own.
import { performance } from 'node:perf_hooks';
import { HttpClient } from '../src/runtime/http/http-client.js';
import { executeMethod } from '../src/runtime/executor.js';
import { pagingRelease, startPagingServer } from './paging.js';

const TOTAL = 2_000_000;
const PAGE_SIZE = 1000;
const MB = 1024 * 1024;

export async function run(): Promise<void> {
  const server = await startPagingServer(TOTAL);
  const http = new HttpClient({ allowPrivateNetwork: true });
  const compiled = pagingRelease(server.url, { pageSize: PAGE_SIZE, fields: true, maxPages: 10_000 });
  const baseline = process.memoryUsage().rss;
  let peak = baseline;
  const sample = () => {
    const rss = process.memoryUsage().rss;
    if (rss > peak) peak = rss;
  };
  const timer = setInterval(sample, 10);
  const t0 = performance.now();
  let records = 0;
  let pages = 0;
  try {
    for await (const page of executeMethod(compiled, 'list-records', { auth: { values: {} }, http })) {
      records += page.records.length;
      pages++;
      sample();
    }
  } finally {
    clearInterval(timer);
    await http.close();
    await server.close();
  }
  const seconds = (performance.now() - t0) / 1000;
  if (records !== TOTAL) throw new Error(`read ${records} records, expected ${TOTAL}`);
  console.log(`paging-memory: ${records.toLocaleString('en-US')} records in ${pages} pages of ${PAGE_SIZE}, ${seconds.toFixed(1)} s (${Math.round(records / seconds).toLocaleString('en-US')} records/s)`);
  console.log(`  RSS at start ${(baseline / MB).toFixed(1)} MB, peak ${(peak / MB).toFixed(1)} MB (target <= 250 MB), heap used at end ${(process.memoryUsage().heapUsed / MB).toFixed(1)} MB`);
}
