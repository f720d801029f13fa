import fs from 'node:fs';
import * as core from '@actions/core';

// Removes the run's private directory (docker config with registry credentials, OIDC token) if the
// main step could not, for instance when it was cancelled.
const dir = core.getState('temp-dir');
if (dir && fs.existsSync(dir)) {
  fs.rmSync(dir, {recursive: true, force: true});
  core.info(`removed ${dir}`);
}
