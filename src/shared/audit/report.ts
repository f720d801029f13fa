import {AuditResult} from './run.js';

/** The report's schema name; a change that removes or renames a field takes a new version. */
export const AUDIT_SCHEMA = 'https://github.com/org/registry-actions/audit/v1';

/** The JSON report (the README documents its fields): the result under a schema name. Pure. */
export function auditReport(res: AuditResult): {schema: string} & AuditResult {
  return {schema: AUDIT_SCHEMA, ...res};
}
