import {failuresByRequirement} from './compliance.js';
import {AuditResult} from './run.js';

/**
 * The audit as Prometheus text exposition (format 0.0.4), for node_exporter's textfile collector or a
 * Pushgateway: gauges named by Prometheus's conventions (a `registry_audit_` namespace, base units,
 * `_bytes`, `_timestamp_seconds`), one HELP and TYPE per family, labels escaped. Pure.
 */

interface Sample {
  labels: Record<string, string>;
  value: number;
}

interface Family {
  name: string;
  help: string;
  samples: Sample[];
}

const escapeLabel = (v: string): string => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
const escapeHelp = (v: string): string => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');

function render(families: Family[]): string {
  const lines: string[] = [];
  for (const f of families) {
    lines.push(`# HELP ${f.name} ${escapeHelp(f.help)}`, `# TYPE ${f.name} gauge`);
    for (const s of f.samples) {
      const labels = Object.entries(s.labels)
        .map(([k, v]) => `${k}="${escapeLabel(v)}"`)
        .join(',');
      lines.push(`${f.name}${labels ? `{${labels}}` : ''} ${Number.isFinite(s.value) ? s.value : 'NaN'}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

const seconds = (iso: string | undefined): number | undefined => {
  const t = Date.parse(iso ?? '');
  return Number.isFinite(t) ? Math.floor(t / 1000) : undefined;
};

export function auditMetrics(res: AuditResult): string {
  const base = (repository: string): Record<string, string> => ({registry: res.registry, repository});
  const per = (pick: (r: AuditResult['repositories'][number]) => number | undefined): Sample[] =>
    res.repositories
      .filter(r => !r.error)
      .flatMap(r => {
        const v = pick(r);
        return v === undefined ? [] : [{labels: base(r.repository), value: v}];
      });
  const families: Family[] = [
    {
      name: 'registry_audit_stored_bytes',
      help: 'Bytes of the distinct blobs a repository references, each blob counted once per repository.',
      samples: per(r => r.storedBytes)
    },
    {
      name: 'registry_audit_reclaimable_bytes',
      help: "Bytes a cleanup under the audit's retention policy would reclaim (blobs only deleted manifests reference).",
      samples: per(r => r.reclaimableBytes)
    },
    {
      name: 'registry_audit_images',
      help: 'Images (indexes and single-platform manifests that no index lists) by state: tagged or untagged.',
      samples: res.repositories
        .filter(r => !r.error)
        .flatMap(r => [
          {labels: {...base(r.repository), state: 'tagged'}, value: r.images.tagged},
          {labels: {...base(r.repository), state: 'untagged'}, value: r.images.untagged}
        ])
    },
    {name: 'registry_audit_tags', help: 'Tags on images in a repository.', samples: per(r => r.tags)},
    {
      name: 'registry_audit_manifests',
      help: 'Manifests listed in a repository: images, platform manifests, signatures and attestations.',
      samples: per(r => r.manifests)
    },
    {
      name: 'registry_audit_oldest_push_timestamp_seconds',
      help: 'Creation time of the oldest dated image in a repository, in seconds since the epoch.',
      samples: per(r => seconds(r.oldestPush))
    },
    {
      name: 'registry_audit_newest_push_timestamp_seconds',
      help: 'Creation time of the newest dated image in a repository, in seconds since the epoch.',
      samples: per(r => seconds(r.newestPush))
    },
    {
      name: 'registry_audit_served_images',
      help: 'Tagged images checked against the compliance policy, by verdict (compliant or noncompliant).',
      samples: res.repositories
        .filter(r => !r.error && r.served.length)
        .flatMap(r => [
          {labels: {...base(r.repository), verdict: 'compliant'}, value: r.served.filter(i => i.compliant).length},
          {labels: {...base(r.repository), verdict: 'noncompliant'}, value: r.served.filter(i => !i.compliant).length}
        ])
    },
    {
      name: 'registry_audit_noncompliant_images',
      help: 'Tagged images failing a requirement of the compliance policy, by requirement.',
      samples: res.repositories
        .filter(r => !r.error)
        .flatMap(r =>
          [...failuresByRequirement(r.served)].map(([requirement, n]) => ({
            labels: {...base(r.repository), requirement},
            value: n
          }))
        )
    },
    {
      name: 'registry_audit_repository_errors',
      help: 'Whether a repository could not be audited (1) or was (0).',
      samples: res.repositories.map(r => ({labels: base(r.repository), value: r.error ? 1 : 0}))
    },
    {
      name: 'registry_audit_complete',
      help: 'Whether the audit covered every repository it was given (1) or stopped early (0).',
      samples: [{labels: {registry: res.registry}, value: res.outcome === 'complete' ? 1 : 0}]
    },
    {
      name: 'registry_audit_last_run_timestamp_seconds',
      help: 'When the audit ran, in seconds since the epoch.',
      samples: [{labels: {registry: res.registry}, value: seconds(res.generatedAt) ?? 0}]
    }
  ];
  return render(families.filter(f => f.samples.length));
}
