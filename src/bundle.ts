/**
 * The one bundle every action and the command-line tool run from (dist/bundle). Each action's code is
 * loaded on demand, so an action pays at start-up only for what it uses; dist/<action>/index.js calls
 * runAction with its name.
 */
import {runAction as run} from './shared/action/run.js';

const MAINS: Record<string, () => Promise<{main: () => Promise<void>}>> = {
  tag: () => import('./actions/tag/main.js'),
  'push-multi': () => import('./actions/push-multi/main.js'),
  sign: () => import('./actions/sign/main.js'),
  scan: () => import('./actions/scan/main.js'),
  'ghcr-cleanup': () => import('./actions/ghcr-cleanup/main.js'),
  sync: () => import('./actions/sync/main.js'),
  audit: () => import('./actions/audit/main.js')
};

export async function runAction(action: string): Promise<void> {
  const load = MAINS[action];
  if (!load) throw new Error(`unknown action ${action}`);
  await run(async () => (await load()).main());
}

export async function runCli(argv: string[]): Promise<number> {
  const {cli} = await import('./cli/main.js');
  return cli(argv);
}
