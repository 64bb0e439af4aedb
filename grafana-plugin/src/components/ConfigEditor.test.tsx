import { fireEvent, render, screen } from '@testing-library/react';
import type { DataSourceSettings } from '@grafana/data';
import { describe, expect, it, vi } from 'vitest';

import type { IncidentsOptions, IncidentsSecureOptions } from '../types';
import { ConfigEditor } from './ConfigEditor';

function options(patch: Partial<DataSourceSettings<IncidentsOptions, IncidentsSecureOptions>> = {}) {
  return {
    id: 1,
    uid: 'incidents',
    orgId: 1,
    name: 'Incidents',
    type: 'opscentre-incidents-datasource',
    access: 'proxy',
    url: '',
    jsonData: {},
    secureJsonFields: {},
    ...patch,
  } as DataSourceSettings<IncidentsOptions, IncidentsSecureOptions>;
}

describe('ConfigEditor', () => {
  it('writes the URL', () => {
    const onOptionsChange = vi.fn();
    render(<ConfigEditor options={options()} onOptionsChange={onOptionsChange} />);
    fireEvent.change(screen.getByPlaceholderText('http://incidentd:9478'), { target: { value: 'http://incidentd:9478' } });
    expect(onOptionsChange).toHaveBeenLastCalledWith(expect.objectContaining({ url: 'http://incidentd:9478' }));
  });

  it('keeps the token in secureJsonData, never in jsonData', () => {
    const onOptionsChange = vi.fn();
    render(<ConfigEditor options={options()} onOptionsChange={onOptionsChange} />);
    fireEvent.change(screen.getByPlaceholderText('token'), { target: { value: 's3cret' } });
    const saved = onOptionsChange.mock.lastCall![0];
    expect(saved.secureJsonData).toEqual({ apiToken: 's3cret' });
    expect(JSON.stringify(saved.jsonData)).not.toContain('s3cret');
  });

  it('shows a configured token and resets it', () => {
    const onOptionsChange = vi.fn();
    render(<ConfigEditor options={options({ secureJsonFields: { apiToken: true } })} onOptionsChange={onOptionsChange} />);
    expect(screen.getByDisplayValue('configured')).toBeTruthy();
    fireEvent.click(screen.getByRole('button', { name: 'Reset' }));
    expect(onOptionsChange.mock.lastCall![0].secureJsonFields).toEqual({ apiToken: false });
  });

  it('writes TLS and limits to jsonData with numbers as numbers', () => {
    const onOptionsChange = vi.fn();
    const { container } = render(<ConfigEditor options={options()} onOptionsChange={onOptionsChange} />);
    fireEvent.click(container.querySelector('#config-tls-skip')!);
    expect(onOptionsChange.mock.lastCall![0].jsonData).toEqual({ tlsSkipVerify: true });
    fireEvent.change(container.querySelector('#config-timeout')!, { target: { value: '12' } });
    expect(onOptionsChange.mock.lastCall![0].jsonData).toEqual({ timeoutSeconds: 12 });
  });
});
