// Preloaded into the operator by `bench/scale.ts --alloc-profile` (node --import): samples what the
// process allocates, objects already collected included, from its start until SIGUSR2 (sent after
// the converge), and writes ALLOC_PROFILE_DIR/Alloc.<pid>.heapprofile for bench/profile-summary.ts.
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';

const session = new Session();
session.connect();
await session.post('HeapProfiler.enable');
await session.post('HeapProfiler.startSampling', {
  samplingInterval: 16384,
  includeObjectsCollectedByMajorGC: true,
  includeObjectsCollectedByMinorGC: true,
});
process.once('SIGUSR2', () => {
  void session.post('HeapProfiler.stopSampling').then(({ profile }) => {
    const dir = process.env['ALLOC_PROFILE_DIR'] ?? '.';
    writeFileSync(join(dir, `Alloc.${process.pid}.heapprofile`), JSON.stringify(profile));
  });
});
