import fs from 'node:fs';
// Removes the run's private directory (docker config with registry credentials, OIDC token) if the
// main step could not, for instance when it was cancelled. The runner hands the main step's saved
// state to the post step as STATE_<name> (what @actions/core's getState reads); no library is needed,
// so the post step stays a few lines.
const dir = process.env['STATE_temp-dir'];
if (dir && fs.existsSync(dir)) {
    fs.rmSync(dir, { recursive: true, force: true });
    process.stdout.write(`removed ${dir}\n`);
}
