import fs from 'node:fs';
import path from 'node:path';
import {UserError, errorMessage} from '../errors.js';
import {exec, execOk, toolEnv} from '../exec.js';
import {Logger} from '../log.js';
import {Credential} from '../registry/auth.js';
import {Clients} from '../registry/clients.js';
import {Mask, RegistryLogin} from '../registry/credentials.js';
import {writeDockerConfig} from '../registry/docker-config.js';
import {childDescriptors} from '../registry/graph.js';
import {OciLayout} from '../registry/layout.js';
import {mapLimit} from '../registry/limit.js';
import {Descriptor, isIndex, platformString} from '../registry/media.js';
import {DEFAULT_RETRY} from '../registry/retry.js';
import {isPlatformImage, resolveReference} from '../registry/resolve.js';
import {isLoopback} from '../registry/reference.js';
import {isolateTrivy, trivyScanArgs} from '../tools/trivy.js';
import {GateOptions, GateResult, applyGate} from './gate.js';
import {Finding, TrivyReport, findingsOf} from './report.js';

/** One thing trivy scans: a registry manifest by digest, or one platform of an OCI layout. */
export interface ScanTarget {
  /** What the user gave. */
  input: string;
  /** What is scanned: repo@digest or oci:<path>. */
  name: string;
  platform?: string;
  digest: string;
  registry?: string;
  /** For layouts: a single-manifest layout directory trivy reads with --input. */
  layoutDir?: string;
}

export interface TargetResult extends ScanTarget {
  report: string;
  gate: GateResult;
  findings: Finding[];
}

export interface ScanOptions {
  targets: string[];
  /** Platforms to scan of an index: all, or os/arch[/variant] list. */
  platforms: string[];
  trivy: string;
  cacheDir: string;
  workDir: string;
  /** Where trivy's JSON reports are kept. */
  reportDir: string;
  scanners: string[];
  timeout: string;
  gate: Omit<GateOptions, 'ignores'> & {ignores: GateOptions['ignores']};
  logins: Map<string, RegistryLogin>;
  env: NodeJS.ProcessEnv;
  mask: Mask;
  log: Logger;
  getIdToken?: (audience: string) => Promise<string>;
  concurrency: number;
  /**
   * Let trivy skip TLS certificate checks (its --insecure), which it needs to reach a registry marked
   * insecure (plain http) that is not on loopback. Never implied by a login's insecure=true.
   */
  tlsInsecure?: boolean;
}

/**
 * Whether trivy gets --insecure for a registry. Loopback registries need nothing (trivy speaks plain
 * http to them already); another registry marked insecure needs the explicit tls-insecure input,
 * since trivy's flag also turns off certificate checks. Throws naming the input otherwise.
 */
export function trivyInsecure(registry: string, markedInsecure: boolean, allowed: boolean, log: Logger): boolean {
  if (!markedInsecure || isLoopback(registry)) return false;
  if (!allowed) {
    throw new UserError(
      `${registry} is marked insecure (plain http), and trivy can reach it only with its --insecure flag, which also skips TLS certificate checks. Set tls-insecure: true to accept that, or serve the registry over https.`
    );
  }
  log.warning(`${registry}: trivy runs with --insecure (tls-insecure: true): TLS certificates are not checked.`);
  return true;
}

/** trivy's environment: built from scratch (no stray TRIVY_* setting changes a flag), with one registry's login. Pure. */
export function trivyEnv(env: NodeJS.ProcessEnv, dockerConfig: string): NodeJS.ProcessEnv {
  const out = toolEnv(env);
  out.DOCKER_CONFIG = dockerConfig;
  return out;
}

const wantedPlatform = (platforms: string[], platform: string | undefined): boolean =>
  platforms.length === 0 || platforms.includes('all') || (!!platform && platforms.includes(platform));
const wanted = (platforms: string[], d: Descriptor): boolean => wantedPlatform(platforms, platformString(d.platform));

/** Splits a layout input: oci:<path> or oci:<path>:<tag>. */
function layoutInput(input: string): {path: string; tag?: string} | undefined {
  const m = input.match(/^(?:oci|oci-layout|oci-archive):(.+)$/);
  if (!m) return undefined;
  const at = m[1].lastIndexOf(':');
  if (at > 0 && /^[A-Za-z0-9_][A-Za-z0-9._-]*$/.test(m[1].slice(at + 1)) && !m[1].slice(at + 1).includes('/')) {
    return {path: m[1].slice(0, at), tag: m[1].slice(at + 1)};
  }
  return {path: m[1]};
}

/** A directory holding just one manifest of a layout, sharing its blobs, so trivy scans exactly that platform. */
function singleManifestLayout(root: string, desc: Descriptor, dir: string): string {
  fs.mkdirSync(dir, {recursive: true});
  fs.writeFileSync(path.join(dir, 'oci-layout'), JSON.stringify({imageLayoutVersion: '1.0.0'}));
  fs.writeFileSync(
    path.join(dir, 'index.json'),
    JSON.stringify({schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [desc]})
  );
  fs.symlinkSync(path.resolve(root, 'blobs'), path.join(dir, 'blobs'));
  return dir;
}

/** Resolves every input to what trivy scans: tags to digests, indexes to their platforms. */
export async function resolveTargets(o: ScanOptions, clients: Clients): Promise<ScanTarget[]> {
  const out: ScanTarget[] = [];
  const problems: string[] = [];
  await mapLimit(o.targets, 4, async input => {
    try {
      const layout = layoutInput(input);
      if (layout) {
        let root = layout.path;
        if (!fs.existsSync(root)) throw new UserError(`${input}: ${root} does not exist`);
        if (fs.statSync(root).isFile()) {
          // A tarball (buildx --output type=oci): unpack once, then scan platforms from the directory.
          const dir = path.join(o.workDir, `layout-${out.length}-${path.basename(root)}`);
          fs.mkdirSync(dir, {recursive: true});
          await execOk({command: 'tar', args: ['-xf', root, '-C', dir], env: o.env});
          root = dir;
        }
        const src = new OciLayout(root);
        const m = await src.resolve(layout.tag);
        const descs: Descriptor[] = isIndex(m.mediaType)
          ? childDescriptors(m).filter(d => isPlatformImage(d) && wanted(o.platforms, d))
          : [{mediaType: m.mediaType, digest: m.digest, size: m.body.length}];
        for (const d of descs) {
          const dir = singleManifestLayout(
            root,
            d,
            path.join(o.workDir, `scan-${d.digest.slice(7, 19)}-${out.length}`)
          );
          out.push({
            input,
            name: `oci:${layout.path}@${d.digest}`,
            platform: d.platform ? platformString(d.platform) : undefined,
            digest: d.digest,
            layoutDir: dir
          });
        }
        return;
      }
      const {ref, manifest: m, tree} = await resolveReference(clients, input, 'images');
      const repo = `${ref.registry}/${ref.repository}`;
      if (!isIndex(m.mediaType)) {
        out.push({input, name: `${repo}@${m.digest}`, digest: m.digest, registry: ref.registry});
        return;
      }
      // Every platform manifest at any depth (an index may list indexes), as signing and copying walk it.
      const kids = tree.filter(n => !n.index && !n.attestation && wantedPlatform(o.platforms, n.platform));
      if (kids.length === 0)
        throw new UserError(`${input}: none of its platforms matches platforms (${o.platforms.join(', ')})`);
      for (const n of kids)
        out.push({
          input,
          name: `${repo}@${n.descriptor.digest}`,
          platform: n.platform,
          digest: n.descriptor.digest,
          registry: ref.registry
        });
    } catch (err) {
      problems.push(err instanceof UserError ? err.message : `${input}: ${errorMessage(err)}`);
    }
  });
  if (problems.length) throw new UserError(`images: ${problems.join('; ')}. Nothing was scanned.`);
  const seen = new Set<string>();
  return out.filter(t => !seen.has(t.name) && seen.add(t.name));
}

/** Scans every target once to JSON with trivy and applies the gate to each. */
export async function scanTargets(o: ScanOptions): Promise<TargetResult[]> {
  const clients = new Clients(
    {env: o.env, mask: o.mask, log: o.log, retry: DEFAULT_RETRY, concurrency: 4, getIdToken: o.getIdToken},
    o.logins
  );
  const targets = await resolveTargets(o, clients);
  if (targets.length === 0) throw new UserError('images: give at least one image or oci:<layout> to scan.');
  const configs = new Map<string, string>();
  const configFor = async (registry: string | undefined): Promise<string> => {
    const key = registry ?? '';
    let dir = configs.get(key);
    if (!dir) {
      const creds = new Map<string, Credential>();
      if (registry) creds.set(registry, await clients.credential(registry));
      dir = writeDockerConfig(path.join(o.workDir, `docker-${configs.size}`), creds);
      configs.set(key, dir);
    }
    return dir;
  };
  const isolated = isolateTrivy(o.workDir);
  // Decided (and warned about) once per registry, however many platforms are scanned there.
  const insecureBy = new Map<string, boolean>();
  const insecureFor = (registry: string): boolean => {
    let v = insecureBy.get(registry);
    if (v === undefined) {
      v = trivyInsecure(registry, clients.insecure(registry), o.tlsInsecure === true, o.log);
      insecureBy.set(registry, v);
    }
    return v;
  };
  return mapLimit(targets, o.concurrency, async (t, i) => {
    const report = path.join(o.reportDir, `trivy-${i + 1}.json`);
    const args = trivyScanArgs({
      target: t.layoutDir ?? t.name,
      input: !!t.layoutDir,
      cacheDir: o.cacheDir,
      output: report,
      scanners: o.scanners,
      insecure: t.registry ? insecureFor(t.registry) : false,
      timeout: o.timeout,
      isolation: isolated.flags
    });
    const res = await exec({
      command: o.trivy,
      args,
      cwd: isolated.cwd,
      env: trivyEnv(o.env, await configFor(t.registry)),
      timeoutMs: 60 * 60_000
    });
    if (res.code !== 0 || !fs.existsSync(report)) {
      const detail = res.stderr.trim().split('\n').filter(Boolean).slice(-3).join(' | ');
      throw new UserError(
        `trivy failed on ${t.name}${t.platform ? ` (${t.platform})` : ''} with exit code ${res.code}: ${detail}. This is a scanner error, not a finding.`
      );
    }
    let parsed: TrivyReport;
    try {
      parsed = JSON.parse(fs.readFileSync(report, 'utf8')) as TrivyReport;
    } catch (err) {
      throw new UserError(
        `trivy wrote an unreadable report for ${t.name} (${errorMessage(err)}). This is a scanner error, not a finding.`
      );
    }
    const findings = findingsOf(parsed);
    return {...t, report, findings, gate: applyGate(findings, o.gate)};
  });
}
