import type { DataSourceInstanceSettings, ScopedVars } from '@grafana/data';
import type { TemplateSrv } from '@grafana/runtime';
import { describe, expect, it, vi } from 'vitest';

import { DataSource } from './datasource';
import type { IncidentsOptions, IncidentsQuery } from './types';

const settings = {
  id: 1,
  uid: 'incidents',
  type: 'opscentre-incidents-datasource',
  name: 'Incidents',
  jsonData: {},
  meta: {},
  readOnly: false,
  access: 'proxy',
} as unknown as DataSourceInstanceSettings<IncidentsOptions>;

// A template service that knows two variables, $team (multi-value) and $incident.
const vars: Record<string, string[]> = { team: ['llm', 'data'], incident: ['42'] };
const templateSrv = {
  replace: (target: string, _scoped?: ScopedVars, format?: string) =>
    target.replace(/\$(\w+)/g, (m, name: string) => (vars[name] ? vars[name].join(format === 'csv' ? ',' : ' ') : m)),
} as unknown as TemplateSrv;

describe('DataSource', () => {
  const ds = new DataSource(settings, templateSrv);

  it('expands multi-value variables into list entries', () => {
    const q: IncidentsQuery = { refId: 'A', queryType: 'incidents', teams: ['$team', 'ops'], tiers: ['P1'] };
    const out = ds.applyTemplateVariables(q, {});
    expect(out.teams).toEqual(['llm', 'data', 'ops']);
    expect(out.tiers).toEqual(['P1']);
  });

  it('expands single-value fields to comma-separated lists', () => {
    const out = ds.applyTemplateVariables({ refId: 'A', queryType: 'counts', team: '$team', state: 'open' }, {});
    expect(out.team).toBe('llm,data');
    expect(out.state).toBe('open');
  });

  it('expands the timeline incident', () => {
    const out = ds.applyTemplateVariables({ refId: 'A', queryType: 'timeline', incidentId: '$incident' }, {});
    expect(out.incidentId).toBe('42');
  });

  it('does not send a timeline without an incident', () => {
    expect(ds.filterQuery({ refId: 'A', queryType: 'timeline' })).toBe(false);
    expect(ds.filterQuery({ refId: 'A', queryType: 'timeline', incidentId: '7' })).toBe(true);
    expect(ds.filterQuery({ refId: 'A', queryType: 'evidence' })).toBe(false);
    expect(ds.filterQuery({ refId: 'A', queryType: 'evidence', incidentId: '7' })).toBe(true);
    expect(ds.filterQuery({ refId: 'A', queryType: 'incidents', hide: true })).toBe(false);
  });

  it('runs annotation queries as the annotations query type', () => {
    const prepared = ds.annotations!.prepareAnnotation!({ target: { refId: '', teams: ['llm'] } } as never);
    expect(prepared.target).toMatchObject({ queryType: 'annotations', refId: 'Anno', teams: ['llm'] });
  });

  it('reads variable values from the backend resource', async () => {
    const get = vi.spyOn(ds, 'getResource').mockResolvedValue(['data', 'llm']);
    await expect(ds.metricFindQuery({ variable: 'teams' })).resolves.toEqual([
      { text: 'data', value: 'data' },
      { text: 'llm', value: 'llm' },
    ]);
    expect(get).toHaveBeenCalledWith('options/teams');
  });

  it('posts actions to the backend resources', async () => {
    const post = vi.spyOn(ds, 'postResource').mockResolvedValue({ id: 3, state: 'triaged' });
    await ds.acknowledge(3, 'on it');
    expect(post).toHaveBeenCalledWith('incidents/3/ack', { note: 'on it' });
    await ds.transition(3, 'contained');
    expect(post).toHaveBeenCalledWith('incidents/3/transition', { to: 'contained' });
    await ds.contain(3, { model: 'fraud', version: 'v2', action: 'fallback', fallback_version: 'v1', reason: 'AUC drop' });
    expect(post).toHaveBeenCalledWith('incidents/3/containments', {
      model: 'fraud', version: 'v2', action: 'fallback', fallback_version: 'v1', reason: 'AUC drop',
    });
    await ds.liftContainment(7, 'fixed');
    expect(post).toHaveBeenCalledWith('containments/7/lift', { reason: 'fixed' });
  });

  it('reads an incident\'s containments from the backend resource', async () => {
    const get = vi.spyOn(ds, 'getResource').mockResolvedValue([{ id: 7, action: 'disable', active: true }]);
    await expect(ds.containments(3)).resolves.toEqual([{ id: 7, action: 'disable', active: true }]);
    expect(get).toHaveBeenCalledWith('incidents/3/containments');
  });
});
