import {execFile} from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {promisify} from 'node:util';
import {describe, expect, test} from '@jest/globals';
import {ROOT} from '../helpers/run-action.js';
import {nodeRuntimes} from '../helpers/tools.js';

// docker/metadata-action's own test cases, kept beside the repository (../shared/compat), run against
// our bundled action the way a runner runs it.
// That folder exists where .ci/run runs (it sets REGISTRY_ACTIONS_REQUIRE_SHARED=1, and then the test
// is required), not in the repository's own GitHub workflows, where it is skipped with a notice.
const script = path.join(ROOT, '..', 'shared', 'compat', 'metadata-parity.mjs');
const required = process.env.REGISTRY_ACTIONS_REQUIRE_SHARED === '1';
const present = fs.existsSync(script);
if (!present && !required) {
  console.warn(
    `skipping metadata-action parity: ${script} is not here (it is beside the repository only under .ci/run)`
  );
}
/** docker/metadata-action's own cases, all of which must give the same outputs. */
const CASES = 121;

describe.each(nodeRuntimes())('metadata-action compatibility on %s', (_runtime, node) => {
  (node && (present || required) ? test : test.skip)(
    'every case gives the outputs metadata-action gives',
    async () => {
      expect(fs.existsSync(script)).toBe(true);
      const res = await promisify(execFile)(node as string, [script], {cwd: ROOT, maxBuffer: 16 << 20}).catch(
        (err: {stdout?: string}) => ({stdout: err.stdout ?? String(err)})
      );
      const last = res.stdout.trim().split('\n').pop();
      expect({last, out: res.stdout.slice(-3000)}).toEqual({
        last: expect.stringMatching(new RegExp(`^tag parity: ${CASES}/${CASES} `)),
        out: expect.anything()
      });
    },
    180000
  );
});
