import * as cache from '@actions/cache';
import {errorMessage} from './errors.js';
import {Logger} from './log.js';

/** Whether the runner offers the GitHub Actions cache (never outside GitHub Actions). */
export function actionsCacheAvailable(): boolean {
  return cache.isFeatureAvailable();
}

/**
 * Restores a directory from the Actions cache: the exact key, else the newest entry whose key starts
 * with one of the prefixes. The matched key, or undefined on a miss; a failing cache is a warning.
 */
export async function restoreDir(
  dir: string,
  key: string,
  prefixes: string[],
  log: Logger,
  what: string
): Promise<string | undefined> {
  try {
    return await cache.restoreCache([dir], key, prefixes);
  } catch (err) {
    log.warning(`${what}: the Actions cache could not be read (${errorMessage(err)}).`);
    return undefined;
  }
}

/** Saves a directory to the Actions cache under a new key; false (with a warning) when it could not. */
export async function saveDir(dir: string, key: string, log: Logger, what: string): Promise<boolean> {
  try {
    // -1: not saved, and already said why (another job saving the same key, a refused reservation).
    if ((await cache.saveCache([dir], key)) === -1) return false;
    log.info(`${what}: saved to the Actions cache as ${key}`);
    return true;
  } catch (err) {
    log.warning(`${what}: not saved to the Actions cache (${errorMessage(err)})`);
    return false;
  }
}
