import { type ChangeEvent } from 'react';
import type { DataSourcePluginOptionsEditorProps } from '@grafana/data';
import { Field, FieldSet, Input, SecretInput, Switch, TextArea } from '@grafana/ui';

import type { IncidentsOptions, IncidentsSecureOptions } from '../types';

type Props = DataSourcePluginOptionsEditorProps<IncidentsOptions, IncidentsSecureOptions>;

/** Settings of one incidents datasource: where incidentd is, its token, TLS and limits. */
export function ConfigEditor({ options, onOptionsChange }: Props) {
  const { jsonData, secureJsonFields } = options;
  const secure = options.secureJsonData ?? {};

  const setJSON = <K extends keyof IncidentsOptions>(key: K, value: IncidentsOptions[K]) =>
    onOptionsChange({ ...options, jsonData: { ...jsonData, [key]: value } });
  const setNumber = (key: 'timeoutSeconds' | 'maxIncidents' | 'openLookbackDays') => (e: ChangeEvent<HTMLInputElement>) =>
    setJSON(key, e.currentTarget.value === '' ? undefined : Number(e.currentTarget.value));

  return (
    <>
      <FieldSet label="incidentd">
        <Field label="URL" description="Address of incidentd as the Grafana server reaches it, e.g. http://incidentd:9478" required>
          <Input
            id="config-url"
            width={50}
            value={options.url}
            placeholder="http://incidentd:9478"
            onChange={(e) => onOptionsChange({ ...options, url: e.currentTarget.value })}
          />
        </Field>
        <Field
          label="API token"
          description="A token listed in incidentd's configuration with role responder and delegate: true, so actions are recorded in the Grafana user's name"
        >
          <SecretInput
            id="config-token"
            width={50}
            isConfigured={Boolean(secureJsonFields?.apiToken)}
            value={secure.apiToken ?? ''}
            placeholder="token"
            onChange={(e) =>
              onOptionsChange({ ...options, secureJsonData: { ...secure, apiToken: e.currentTarget.value } })
            }
            onReset={() =>
              onOptionsChange({
                ...options,
                secureJsonFields: { ...secureJsonFields, apiToken: false },
                secureJsonData: { ...secure, apiToken: '' },
              })
            }
          />
        </Field>
        <Field label="Timeout (seconds)" description="Per request to incidentd; default 30">
          <Input id="config-timeout" type="number" min={1} width={12} value={jsonData.timeoutSeconds ?? ''} onChange={setNumber('timeoutSeconds')} />
        </Field>
        <Field label="Link URL" description="Base of incident links when users reach incidentd under another address; default: the URL">
          <Input id="config-link" width={50} value={jsonData.linkUrl ?? ''} onChange={(e) => setJSON('linkUrl', e.currentTarget.value)} />
        </Field>
      </FieldSet>
      <FieldSet label="TLS">
        <Field label="Skip certificate verification" description="Only for test setups">
          <Switch id="config-tls-skip" value={Boolean(jsonData.tlsSkipVerify)} onChange={(e) => setJSON('tlsSkipVerify', e.currentTarget.checked)} />
        </Field>
        <Field label="CA certificate" description="PEM certificates trusted in addition to the system's">
          <TextArea
            id="config-ca"
            rows={4}
            value={jsonData.tlsCACert ?? ''}
            placeholder="-----BEGIN CERTIFICATE-----"
            onChange={(e) => setJSON('tlsCACert', e.currentTarget.value)}
          />
        </Field>
      </FieldSet>
      <FieldSet label="Limits">
        <Field label="Max incidents per query" description="Newest first; default 50000">
          <Input id="config-max" type="number" min={1} width={12} value={jsonData.maxIncidents ?? ''} onChange={setNumber('maxIncidents')} />
        </Field>
        <Field label="Open lookback (days)" description="How far before the range 'open' counts look for incidents still open; default 90">
          <Input id="config-lookback" type="number" min={1} width={12} value={jsonData.openLookbackDays ?? ''} onChange={setNumber('openLookbackDays')} />
        </Field>
      </FieldSet>
    </>
  );
}
