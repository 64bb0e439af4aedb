import type { DataQuery, DataSourceJsonData } from '@grafana/data';

/** The query types the backend's QueryTypeMux answers (pkg/internal/plugin/query.go). */
export type QueryType = 'incidents' | 'counts' | 'stats' | 'timeline' | 'annotations' | 'variables' | 'evidence';

export const QUERY_TYPES: Array<{ value: QueryType; label: string; description: string }> = [
  { value: 'incidents', label: 'Incidents', description: 'A table of incidents detected in the time range' },
  { value: 'counts', label: 'Counts', description: 'Incidents opened, or open, per interval' },
  { value: 'stats', label: 'Stats', description: 'MTTA, MTTR, SLA breaches and open counts (usable by alerting)' },
  { value: 'timeline', label: 'Timeline', description: "One incident's state changes, alerts, notes and related changes" },
  { value: 'annotations', label: 'Annotations', description: 'Incidents and changes as annotations' },
  { value: 'variables', label: 'Variable values', description: 'Teams, models, tiers or states' },
  { value: 'evidence', label: 'Evidence', description: "One incident's likely causes: each cause's verdict and the numbers behind it" },
];

export const STATES = ['detected', 'triaged', 'contained', 'investigating', 'resolved', 'reviewed'] as const;
export const TIERS = ['P1', 'P2', 'P3', 'P4'] as const;
export type VariableKind = 'teams' | 'models' | 'tiers' | 'states';

/** The JSON of one query; must match the Query struct of the backend. */
export interface IncidentsQuery extends DataQuery {
  queryType?: QueryType;
  states?: string[];
  tiers?: string[];
  teams?: string[];
  models?: string[];
  text?: string;
  openOnly?: boolean;
  labelColumns?: string[];
  countMode?: 'opened' | 'open';
  splitBy?: '' | 'tier' | 'state' | 'team' | 'model';
  interval?: string;
  groupBy?: '' | 'total' | 'tier' | 'team' | 'model';
  incidentId?: string;
  includeChanges?: boolean;
  variable?: VariableKind;
  /** One number of the stats: count, open, acknowledged, resolved, sla_breached, mtta, mttr. */
  stat?: string;
  /** Single-value spellings (comma-separated lists allowed); state "open" = unresolved. */
  state?: string;
  tier?: string;
  team?: string;
  model?: string;
}

export const DEFAULT_QUERY: Partial<IncidentsQuery> = {
  queryType: 'incidents',
};

/** jsonData of the datasource (pkg/internal/settings JSON). */
export interface IncidentsOptions extends DataSourceJsonData {
  timeoutSeconds?: number;
  tlsSkipVerify?: boolean;
  tlsCACert?: string;
  linkUrl?: string;
  maxIncidents?: number;
  openLookbackDays?: number;
}

/** secureJsonData of the datasource. */
export interface IncidentsSecureOptions {
  apiToken?: string;
}

/** An incident as incidentd returns it after an action. */
export interface Incident {
  id: number;
  title: string;
  state: string;
  tier: string;
  assignee?: string;
}

/** A containment request (incidentd's POST /api/v1/incidents/{id}/containments). */
export interface ContainmentInput {
  model: string;
  version?: string;
  action: 'fallback' | 'disable' | 'block_inputs';
  match?: { feature?: string; value?: string; input_class?: string };
  fallback_version?: string;
  reason: string;
  expires_at?: string;
  until_resolved?: boolean;
  lift_after?: string;
}

/** A containment as incidentd returns it. */
export interface Containment extends ContainmentInput {
  id: number;
  incident?: number;
  policy?: string;
  created_by: string;
  created_at: string;
  until: 'expires' | 'resolved' | 'lifted';
  lifted_at?: string;
  lifted_by?: string;
  active: boolean;
}
