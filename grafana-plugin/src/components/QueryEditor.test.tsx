import { fireEvent, render, screen, waitFor } from '@testing-library/react';
import { describe, expect, it, vi } from 'vitest';

import type { DataSource } from '../datasource';
import type { IncidentsQuery } from '../types';
import { QueryEditor } from './QueryEditor';

function setup(query: IncidentsQuery) {
  const datasource = {
    metricFindQuery: vi.fn(async ({ variable }: { variable: string }) =>
      variable === 'teams' ? [{ text: 'llm' }, { text: 'ml-platform' }] : [{ text: 'fraud-v3' }]
    ),
  } as unknown as DataSource;
  const onChange = vi.fn();
  const onRunQuery = vi.fn();
  render(<QueryEditor query={query} onChange={onChange} onRunQuery={onRunQuery} datasource={datasource} />);
  return { onChange, onRunQuery, datasource };
}

describe('QueryEditor', () => {
  it('switches the query type and runs the query', () => {
    const { onChange, onRunQuery } = setup({ refId: 'A', queryType: 'incidents' });
    fireEvent.click(screen.getByLabelText('Counts'));
    expect(onChange).toHaveBeenLastCalledWith({ refId: 'A', queryType: 'counts' });
    expect(onRunQuery).toHaveBeenCalled();
  });

  it('shows the filters of the incidents table and loads teams and models', async () => {
    const { datasource } = setup({ refId: 'A', queryType: 'incidents' });
    expect(screen.getByText('Label columns')).toBeTruthy();
    expect(screen.getByLabelText('Text')).toBeTruthy();
    await waitFor(() => expect(datasource.metricFindQuery).toHaveBeenCalledWith({ variable: 'teams' }));
    expect(datasource.metricFindQuery).toHaveBeenCalledWith({ variable: 'models' });
  });

  it('offers split and interval for counts', () => {
    const { onChange } = setup({ refId: 'A', queryType: 'counts' });
    fireEvent.click(screen.getByRole('radio', { name: 'Tier' }));
    expect(onChange).toHaveBeenLastCalledWith({ refId: 'A', queryType: 'counts', splitBy: 'tier' });
    fireEvent.change(screen.getByLabelText('Interval'), { target: { value: '1d' } });
    expect(onChange).toHaveBeenLastCalledWith({ refId: 'A', queryType: 'counts', interval: '1d' });
  });

  it('groups stats and picks one number', () => {
    const { onChange } = setup({ refId: 'A', queryType: 'stats' });
    fireEvent.click(screen.getByRole('radio', { name: 'Team' }));
    expect(onChange).toHaveBeenLastCalledWith({ refId: 'A', queryType: 'stats', groupBy: 'team' });
    fireEvent.click(screen.getByRole('radio', { name: 'MTTR' }));
    expect(onChange).toHaveBeenLastCalledWith({ refId: 'A', queryType: 'stats', stat: 'mttr' });
  });

  it('asks for the incident of a timeline', () => {
    const { onChange, onRunQuery } = setup({ refId: 'A', queryType: 'timeline' });
    expect(screen.queryByText('Label columns')).toBeNull();
    const input = screen.getByLabelText('Incident');
    fireEvent.change(input, { target: { value: '$incident' } });
    expect(onChange).toHaveBeenLastCalledWith({ refId: 'A', queryType: 'timeline', incidentId: '$incident' });
    fireEvent.blur(input);
    expect(onRunQuery).toHaveBeenCalled();
  });

  it('turns on change-log entries for annotations', () => {
    const { onChange } = setup({ refId: 'A', queryType: 'annotations' });
    fireEvent.click(screen.getByLabelText('Include changes'));
    expect(onChange).toHaveBeenLastCalledWith({ refId: 'A', queryType: 'annotations', includeChanges: true });
  });
});
