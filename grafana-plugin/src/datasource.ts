import {
  type DataSourceInstanceSettings,
  type MetricFindValue,
  type ScopedVars,
} from '@grafana/data';
import { DataSourceWithBackend, getTemplateSrv, type TemplateSrv } from '@grafana/runtime';

import {
  type Containment,
  type ContainmentInput,
  DEFAULT_QUERY,
  type Incident,
  type IncidentsOptions,
  type IncidentsQuery,
  type VariableKind,
} from './types';

const LIST_FIELDS = ['states', 'tiers', 'teams', 'models', 'labelColumns'] as const;
const SINGLE_FIELDS = ['state', 'tier', 'team', 'model'] as const;

/** The incidents datasource: queries run in the Go backend; actions go through its resources. */
export class DataSource extends DataSourceWithBackend<IncidentsQuery, IncidentsOptions> {
  constructor(
    settings: DataSourceInstanceSettings<IncidentsOptions>,
    private readonly templateSrv: TemplateSrv = getTemplateSrv()
  ) {
    super(settings);
    // An empty object turns on annotation queries answered by the backend: it returns
    // frames with time, timeEnd, title, text and tags.
    this.annotations = {
      prepareAnnotation: (a) => {
        const target = (a.target ?? {}) as IncidentsQuery;
        return { ...a, target: { ...target, refId: target.refId || 'Anno', queryType: 'annotations' } };
      },
    };
  }

  getDefaultQuery(): Partial<IncidentsQuery> {
    return DEFAULT_QUERY;
  }

  /** Expands dashboard variables; a multi-value variable becomes several list entries. */
  applyTemplateVariables(query: IncidentsQuery, scopedVars: ScopedVars): IncidentsQuery {
    const out: IncidentsQuery = { ...query };
    for (const key of LIST_FIELDS) {
      const values = query[key];
      if (!values) {
        continue;
      }
      out[key] = values
        .flatMap((v) => this.templateSrv.replace(v, scopedVars, 'csv').split(','))
        .map((v) => v.trim())
        .filter((v) => v !== '');
    }
    for (const key of SINGLE_FIELDS) {
      const value = query[key];
      if (value) {
        out[key] = this.templateSrv.replace(value, scopedVars, 'csv');
      }
    }
    if (query.text) {
      out.text = this.templateSrv.replace(query.text, scopedVars);
    }
    if (query.incidentId) {
      out.incidentId = this.templateSrv.replace(String(query.incidentId), scopedVars);
    }
    if (query.interval) {
      out.interval = this.templateSrv.replace(query.interval, scopedVars);
    }
    return out;
  }

  /** A query without a type, or a timeline or evidence query without an incident, is not sent. */
  filterQuery(query: IncidentsQuery): boolean {
    if (query.hide) {
      return false;
    }
    return (query.queryType !== 'timeline' && query.queryType !== 'evidence') || Boolean(query.incidentId);
  }

  /** Values of a dashboard variable: teams, models, tiers or states. */
  async metricFindQuery(query: { variable?: VariableKind } | string): Promise<MetricFindValue[]> {
    const kind = typeof query === 'string' ? (query || 'teams') : (query?.variable ?? 'teams');
    const values: string[] = await this.getResource(`options/${kind}`);
    return values.map((text) => ({ text, value: text }));
  }

  acknowledge(id: number, note?: string): Promise<Incident> {
    return this.postResource(`incidents/${id}/ack`, note ? { note } : {});
  }

  transition(id: number, to: string, note?: string): Promise<Incident> {
    return this.postResource(`incidents/${id}/transition`, note ? { to, note } : { to });
  }

  addNote(id: number, text: string): Promise<unknown> {
    return this.postResource(`incidents/${id}/notes`, { kind: 'note', text });
  }

  assignToMe(id: number): Promise<Incident> {
    return this.postResource(`incidents/${id}/assign`, { assignee: 'me' });
  }

  /** The incident's containments (fallback, disable, block_inputs), oldest first. */
  containments(id: number): Promise<Containment[]> {
    return this.getResource(`incidents/${id}/containments`);
  }

  /** Applies a containment for the incident as the signed-in Grafana user (audited). */
  contain(id: number, input: ContainmentInput): Promise<Containment> {
    return this.postResource(`incidents/${id}/containments`, input);
  }

  /** Lifts a containment as the signed-in Grafana user (audited). */
  liftContainment(containmentId: number, reason?: string): Promise<Containment> {
    return this.postResource(`containments/${containmentId}/lift`, reason ? { reason } : {});
  }
}
