import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import {UserError} from '../errors.js';
import {globToRegExp} from '../glob.js';
import {SEVERITIES, Severity} from '../scan/report.js';
import {ATTESTATION_TYPES} from '../evidence/plan.js';
import {Raw, fieldError, mapping, regexp, unknownKeys} from './fields.js';
import {SignerRule, signerRule} from './signer.js';

/** Which digests of an image a requirement is checked on. */
export type Scope = 'every-digest' | 'platforms';

/** One required attestation: its type, who signed it, and what its predicate must say. */
export type AttestationRule = {
  /** cosign's --type */
  type: string;
  /** The policy's name for it, in reports. */
  name: string;
  signer: SignerRule;
  on: Scope;
} & (
  | {kind: 'provenance'; repository?: string; ref?: RegExp; refText?: string; builderId?: RegExp}
  | {kind: 'sbom'}
  | {kind: 'vuln'; maxSeverity?: Severity; maxAgeDays?: number}
  | {kind: 'custom'}
);

/** What an image must carry to be promoted: a signature by `signer` and these attestations. */
export interface Policy {
  signer: SignerRule;
  attestations: AttestationRule[];
}

const TOP = ['signer', 'attestations'] as const;
const COMMON = ['signer', 'on'] as const;
const KINDS: Record<string, readonly string[]> = {
  provenance: [...COMMON, 'repository', 'ref', 'builder-id-regexp'],
  sbom: [...COMMON, 'format'],
  vuln: [...COMMON, 'max-severity', 'max-age'],
  custom: [...COMMON, 'type']
};

const EXAMPLE = `signer:
  issuer: https://token.actions.githubusercontent.com
  identity-regexp: ^https://github\\.com/acme/app/\\.github/workflows/release\\.yml@refs/tags/v
attestations:
  provenance: {repository: acme/app, ref: refs/tags/v*}
  sbom: {format: cyclonedx}
  vuln: {max-severity: high, max-age: 7d}`;

function scope(input: string, o: Raw, where: string, fallback: Scope): Scope {
  const v = o.on === undefined ? fallback : String(o.on);
  if (v !== 'every-digest' && v !== 'platforms')
    throw fieldError(input, `${where}.on`, `"${v}" is neither every-digest nor platforms`);
  return v;
}

function attestationRule(input: string, name: string, raw: unknown, signer: SignerRule): AttestationRule {
  const where = `attestations.${name}`;
  const kind = name.startsWith('custom') ? 'custom' : name;
  const allowed = KINDS[kind];
  if (!allowed)
    throw fieldError(
      input,
      where,
      `unknown attestation "${name}"`,
      'Known: provenance, sbom, vuln, custom (custom-<name> for several).'
    );
  const o: Raw = raw === null || raw === true ? {} : mapping(input, raw, where, allowed.join(', '));
  unknownKeys(input, o, allowed, where);
  const who = o.signer === undefined ? signer : signerRule(input, o.signer, `${where}.signer`);
  if (who.notation)
    throw fieldError(
      input,
      `${where}.signer`,
      'attestations are Sigstore bundles that cosign verifies, not Notation signatures',
      'Give this attestation a signer of its own (key, or identity and issuer).'
    );
  const base = {name, signer: who};
  switch (kind) {
    case 'provenance':
      return {
        ...base,
        kind,
        type: ATTESTATION_TYPES.provenance.type,
        on: scope(input, o, where, 'every-digest'),
        repository: o.repository === undefined ? undefined : String(o.repository).replace(/^https?:\/\/[^/]+\//, ''),
        ...(o.ref === undefined ? {} : {ref: globToRegExp(String(o.ref)), refText: String(o.ref)}),
        ...(o['builder-id-regexp'] === undefined
          ? {}
          : {builderId: regexp(input, String(o['builder-id-regexp']), `${where}.builder-id-regexp`)})
      };
    case 'sbom': {
      const format = o.format === undefined ? 'cyclonedx' : String(o.format);
      if (format !== 'cyclonedx' && format !== 'spdx')
        throw fieldError(input, `${where}.format`, `"${format}" is neither cyclonedx nor spdx`);
      return {...base, kind, type: ATTESTATION_TYPES[format].type, on: scope(input, o, where, 'platforms')};
    }
    case 'vuln': {
      let maxSeverity: Severity | undefined;
      if (o['max-severity'] !== undefined) {
        const v = String(o['max-severity']).toUpperCase();
        if (!(SEVERITIES as readonly string[]).includes(v))
          throw fieldError(
            input,
            `${where}.max-severity`,
            `"${String(o['max-severity'])}" is not a severity`,
            `One of ${SEVERITIES.join(', ').toLowerCase()}.`
          );
        maxSeverity = v as Severity;
      }
      let maxAgeDays: number | undefined;
      if (o['max-age'] !== undefined) {
        const m = String(o['max-age']).match(/^(\d+)d$/);
        if (!m)
          throw fieldError(
            input,
            `${where}.max-age`,
            `"${String(o['max-age'])}" is not a number of days`,
            'For example 7d.'
          );
        maxAgeDays = Number(m[1]);
      }
      return {
        ...base,
        kind,
        type: ATTESTATION_TYPES.vuln.type,
        on: scope(input, o, where, 'platforms'),
        maxSeverity,
        maxAgeDays
      };
    }
    default: {
      if (o.type === undefined)
        throw fieldError(input, `${where}.type`, 'a custom attestation needs its predicate type (a URI)');
      return {...base, kind: 'custom', type: String(o.type), on: scope(input, o, where, 'every-digest')};
    }
  }
}

/**
 * Parses a promotion policy (YAML): who must have signed every digest, and which attestations each
 * digest (or each platform manifest) must carry, with conditions on their predicates. `signer` may be
 * left out when the caller has one (the sign action's certificate-identity and issuer inputs). Pure.
 */
export function parsePolicy(text: string, input: string, fallbackSigner?: SignerRule): Policy {
  let raw: unknown;
  try {
    raw = YAML.parse(text);
  } catch (err) {
    throw new UserError(`${input}: not YAML (${(err as Error).message}). For example:\n${EXAMPLE}`);
  }
  const o = mapping(input, raw, '(top)', 'signer and attestations');
  unknownKeys(input, o, TOP, '(top)');
  const signer = o.signer === undefined ? fallbackSigner : signerRule(input, o.signer, 'signer');
  if (!signer)
    throw fieldError(
      input,
      'signer',
      'missing',
      'Give key, or identity (or identity-regexp) and issuer, in the policy or the inputs.'
    );
  const att =
    o.attestations === undefined || o.attestations === null
      ? {}
      : mapping(input, o.attestations, 'attestations', 'provenance, sbom, vuln, custom');
  return {signer, attestations: Object.entries(att).map(([name, v]) => attestationRule(input, name, v, signer))};
}

/**
 * A policy input: a file (relative to the workspace) or the YAML itself; undefined when empty. A
 * one-line value without a colon is a file name.
 */
export function readPolicy(
  value: string,
  input: string,
  env: NodeJS.ProcessEnv,
  fallbackSigner?: SignerRule
): Policy | undefined {
  const v = value.trim();
  if (!v) return undefined;
  if (v.includes('\n') || v.includes(':')) return parsePolicy(v, input, fallbackSigner);
  const file = path.resolve(env.GITHUB_WORKSPACE || process.cwd(), v);
  if (!fs.existsSync(file))
    throw new UserError(`${input}: ${v} is not a file (looked for ${file}); give a policy file or the policy's YAML.`);
  return parsePolicy(fs.readFileSync(file, 'utf8'), `${input} (${v})`, fallbackSigner);
}
