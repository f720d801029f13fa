import fs from 'node:fs';
import path from 'node:path';
import {UserError, errorMessage} from '../errors.js';
import {exec} from '../exec.js';
import {Logger} from '../log.js';
import {Clients} from '../registry/clients.js';
import {mapLimit} from '../registry/limit.js';
import {trivyEnv, trivyInsecure} from '../scan/scan.js';
import {TrivyReport} from '../scan/report.js';
import {Target, targetRef} from '../registry/targets.js';
import {workflowAnnotations} from '../sign/annotations.js';
import {isolateTrivy, trivyImageArgs} from '../tools/trivy.js';
import {ATTESTATION_TYPES, EvidenceOptions, PlannedEvidence} from './plan.js';
import {provenancePredicate} from './provenance.js';
import {ScanReport, vulnPredicate} from './vuln.js';

/** A predicate file and the digests it is attested on. */
export interface Predicate {
  label: string;
  /** cosign's --type */
  type: string;
  file: string;
  targets: Target[];
}

/** Predicates grouped by the digest they go on, in plan order within each digest. Pure. */
export function attestationsByDigest(predicates: Predicate[]): Array<[Target, Predicate[]]> {
  const out = new Map<string, [Target, Predicate[]]>();
  for (const p of predicates) {
    for (const t of p.targets) {
      const key = targetRef(t);
      const entry = out.get(key) ?? [t, []];
      entry[1].push(p);
      out.set(key, entry);
    }
  }
  return [...out.values()];
}

export interface WriteContext {
  evidence: EvidenceOptions;
  tempDir: string;
  env: NodeJS.ProcessEnv;
  log: Logger;
  clients: Clients;
  dockerConfig: string;
  /** The trivy binary (needed for SBOMs). */
  trivy?: string;
}

/** `trivy image` arguments for one platform manifest's SBOM, offline (an SBOM needs no vulnerability DB). Pure. */
export function sbomArgs(o: {
  reference: string;
  format: 'cyclonedx' | 'spdx';
  output: string;
  cacheDir: string;
  insecure: boolean;
  isolation: string[];
}): string[] {
  return trivyImageArgs({...o, format: o.format === 'spdx' ? 'spdx-json' : 'cyclonedx', target: o.reference});
}

/** The scan action's combined report, read and checked. */
export function readScanReport(file: string): ScanReport {
  let parsed: ScanReport;
  try {
    parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as ScanReport;
  } catch (err) {
    throw new UserError(`vuln-report: ${file} cannot be read as the scan action's report (${errorMessage(err)}).`);
  }
  if (!Array.isArray(parsed.targets))
    throw new UserError(
      `vuln-report: ${file} is not the scan action's report (no targets list): pass its report output.`
    );
  return parsed;
}

/**
 * Writes every planned predicate to a file: the run's provenance once, an SBOM per platform and format
 * (trivy, one at a time: runs sharing a cache contend for its lock), each platform's scan result.
 */
export async function writePredicates(
  plan: PlannedEvidence[],
  ctx: WriteContext,
  scan?: ScanReport
): Promise<Predicate[]> {
  if (!plan.length) return [];
  const dir = fs.mkdtempSync(path.join(ctx.tempDir, 'evidence-'));
  const isolation = plan.some(p => p.kind === 'cyclonedx' || p.kind === 'spdx') ? isolateTrivy(dir) : undefined;
  const runUrl = workflowAnnotations(ctx.env)['run-url'] ?? '';
  return mapLimit(plan, 1, async (p, i): Promise<Predicate> => {
    const file = path.join(dir, `${i + 1}-${p.kind}.json`);
    const type = ATTESTATION_TYPES[p.kind].type;
    if (p.kind === 'provenance') {
      fs.writeFileSync(file, JSON.stringify(provenancePredicate(ctx.env, ctx.evidence.buildParameters)));
    } else if (p.kind === 'vuln') {
      const scanned = p.scanned;
      if (!scan || !scanned) throw new Error('vuln evidence planned without a scan result');
      let trivy: TrivyReport;
      try {
        trivy = JSON.parse(fs.readFileSync(scanned.trivyReport, 'utf8')) as TrivyReport;
      } catch (err) {
        throw new UserError(
          `vuln-report: trivy's report for ${scanned.target} (${scanned.trivyReport}) cannot be read (${errorMessage(err)}); run sign in the same job as scan.`
        );
      }
      fs.writeFileSync(file, JSON.stringify(vulnPredicate(scan, scanned, trivy, runUrl)));
    } else {
      const t = p.targets[0];
      if (!ctx.trivy || !isolation) throw new Error('an SBOM planned without trivy');
      const res = await exec({
        command: ctx.trivy,
        args: sbomArgs({
          reference: targetRef(t),
          format: p.kind,
          output: file,
          cacheDir: path.join(ctx.tempDir, 'trivy-cache'),
          insecure: trivyInsecure(t.registry, ctx.clients.insecure(t.registry), false, ctx.log),
          isolation: isolation.flags
        }),
        cwd: isolation.cwd,
        env: trivyEnv(ctx.env, ctx.dockerConfig),
        timeoutMs: 30 * 60_000
      });
      if (res.code !== 0 || !fs.existsSync(file)) {
        const detail = res.stderr.trim().split('\n').filter(Boolean).slice(-3).join(' | ');
        throw new UserError(
          `sbom: trivy could not make the ${p.label} of ${targetRef(t)} (exit ${res.code}): ${detail}. Nothing was signed.`
        );
      }
    }
    ctx.log.info(`${p.label}: predicate ready for ${p.targets.length} digest(s)`);
    return {label: p.label, type, file, targets: p.targets};
  });
}
