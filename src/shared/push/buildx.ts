import {UserError} from '../errors.js';
import {Command} from '../exec.js';

/** What a build needs; lists come from multi-line inputs. */
export interface BuildOptions {
  context: string;
  file?: string;
  platforms: string[];
  buildArgs: string[];
  labels: string[];
  annotations: string[];
  cacheFrom: string[];
  cacheTo: string[];
  target?: string;
  /** Where buildx writes the OCI layout tarball that push-multi then fans out. */
  output: string;
  builder?: string;
  /** Secrets as id=ENV_NAME: buildx reads the value from the environment, never from argv. */
  secretEnvs: string[];
}

/**
 * The exact `docker buildx build` argument list: one build, every platform, written as an OCI layout
 * tarball so the copy to every registry is ours (by digest, in parallel). Pure.
 */
export function buildxCommand(o: BuildOptions): Command {
  if (!o.context) throw new UserError('context: give the build context (a directory or a git URL) for build: true.');
  const args = ['buildx', 'build'];
  if (o.builder) args.push('--builder', o.builder);
  if (o.file) args.push('--file', o.file);
  if (o.platforms.length) args.push('--platform', o.platforms.join(','));
  if (o.target) args.push('--target', o.target);
  for (const a of o.buildArgs) {
    if (!a.includes('=')) throw new UserError(`build-args: "${a}" is not NAME=value.`);
    args.push('--build-arg', a);
  }
  for (const l of o.labels) args.push('--label', l);
  for (const a of o.annotations) args.push('--annotation', a);
  for (const c of o.cacheFrom) args.push('--cache-from', c);
  for (const c of o.cacheTo) args.push('--cache-to', c);
  for (const s of o.secretEnvs) {
    const m = s.match(/^([A-Za-z0-9_.-]+)=([A-Za-z_][A-Za-z0-9_]*)$/);
    if (!m) throw new UserError(`secret-envs: "${s}" is not id=ENV_NAME.`);
    args.push('--secret', `id=${m[1]},env=${m[2]}`);
  }
  args.push('--provenance=mode=min', '--output', `type=oci,dest=${o.output}`, o.context);
  return {command: 'docker', args};
}
