import { describe, expect, it } from 'vitest';

import { ConfigEditor } from './components/ConfigEditor';
import { QueryEditor } from './components/QueryEditor';
import { VariableQueryEditor } from './components/VariableQueryEditor';
import { DataSource } from './datasource';
import { plugin } from './module';
import pluginJson from './plugin.json';

describe('module', () => {
  it('registers the datasource and its editors', () => {
    expect(plugin.DataSourceClass).toBe(DataSource);
    expect(plugin.components.ConfigEditor).toBe(ConfigEditor);
    expect(plugin.components.QueryEditor).toBe(QueryEditor);
    expect(plugin.components.VariableQueryEditor).toBe(VariableQueryEditor);
  });

  it('declares what the backend serves', () => {
    expect(pluginJson.id).toMatch(/^[0-9a-z]+-([0-9a-z]+-)?datasource$/);
    expect(pluginJson).toMatchObject({ backend: true, alerting: true, annotations: true, metrics: true });
  });
});
