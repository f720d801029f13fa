import {execFile} from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {promisify} from 'node:util';
import {describe, expect, test} from '@jest/globals';
import {ROOT} from '../helpers/run-action.js';
import {nodeRuntimes} from '../helpers/tools.js';

// docker/metadata-action's own test cases, kept beside the repository (../shared/compat), run against
// our bundled action the way a runner runs it.
const script = path.join(ROOT, '..', 'shared', 'compat', 'metadata-parity.mjs');

describe.each(nodeRuntimes())('metadata-action compatibility on %s', (_runtime, node) => {
  (node ? test : test.skip)(
    'every case gives the outputs metadata-action gives',
    async () => {
      expect(fs.existsSync(script)).toBe(true);
      const res = await promisify(execFile)(node as string, [script], {cwd: ROOT, maxBuffer: 16 << 20}).catch(
        (err: {stdout?: string}) => ({stdout: err.stdout ?? String(err)})
      );
      const last = res.stdout.trim().split('\n').pop();
      expect({last, out: res.stdout.slice(-3000)}).toEqual({
        last: expect.stringMatching(/^tag parity: (\d+)\/\1 /),
        out: expect.anything()
      });
    },
    180000
  );
});
