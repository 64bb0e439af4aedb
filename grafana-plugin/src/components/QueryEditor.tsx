import { useEffect, useState } from 'react';
import type { QueryEditorProps, SelectableValue } from '@grafana/data';
import { InlineField, InlineSwitch, Input, MultiSelect, RadioButtonGroup, Stack, TagsInput } from '@grafana/ui';

import type { DataSource } from '../datasource';
import { QUERY_TYPES, STATES, TIERS, type IncidentsOptions, type IncidentsQuery, type QueryType } from '../types';

type Props = QueryEditorProps<DataSource, IncidentsQuery, IncidentsOptions>;

const toOptions = (values: readonly string[]): Array<SelectableValue<string>> => values.map((v) => ({ label: v, value: v }));

const WIDTH = 18;

/** Picks the query type and shows the filters that type reads. */
export function QueryEditor({ query, onChange, onRunQuery, datasource }: Props) {
  const type: QueryType = query.queryType ?? 'incidents';
  const [teams, setTeams] = useState<string[]>([]);
  const [models, setModels] = useState<string[]>([]);

  useEffect(() => {
    let live = true;
    // Option lists come from incidentd through the backend; a failure leaves free text.
    datasource
      .metricFindQuery({ variable: 'teams' })
      .then((v) => live && setTeams(v.map((x) => String(x.text))))
      .catch(() => undefined);
    datasource
      .metricFindQuery({ variable: 'models' })
      .then((v) => live && setModels(v.map((x) => String(x.text))))
      .catch(() => undefined);
    return () => {
      live = false;
    };
  }, [datasource]);

  const update = (patch: Partial<IncidentsQuery>, run = true) => {
    onChange({ ...query, ...patch });
    if (run) {
      onRunQuery();
    }
  };
  const multi = (key: 'states' | 'tiers' | 'teams' | 'models', values: string[], label: string) => (
    <InlineField label={label} labelWidth={10}>
      <MultiSelect
        aria-label={label}
        width={30}
        allowCustomValue
        options={toOptions(values)}
        value={query[key] ?? []}
        onChange={(v: Array<SelectableValue<string>>) => update({ [key]: v.map((x) => x.value ?? '') })}
      />
    </InlineField>
  );
  const filters = (
    <>
      <Stack wrap="wrap" gap={0.5}>
        {multi('tiers', [...TIERS], 'Tier')}
        {multi('states', [...STATES], 'State')}
        {multi('teams', teams, 'Team')}
        {multi('models', models, 'Model')}
      </Stack>
      <Stack wrap="wrap" gap={0.5}>
        <InlineField label="Text" labelWidth={10} tooltip="Case-insensitive text in title, summary or group key">
          <Input
            aria-label="Text"
            width={30}
            value={query.text ?? ''}
            onChange={(e) => update({ text: e.currentTarget.value }, false)}
            onBlur={onRunQuery}
          />
        </InlineField>
        <InlineField label="Open only" labelWidth={WIDTH}>
          <InlineSwitch aria-label="Open only" value={Boolean(query.openOnly)} onChange={(e) => update({ openOnly: e.currentTarget.checked })} />
        </InlineField>
      </Stack>
    </>
  );

  return (
    <Stack direction="column" gap={1}>
      <InlineField label="Query type" labelWidth={WIDTH} tooltip={QUERY_TYPES.find((t) => t.value === type)?.description}>
        <RadioButtonGroup<QueryType>
          options={QUERY_TYPES.map(({ value, label, description }) => ({ value, label, description }))}
          value={type}
          onChange={(v) => update({ queryType: v })}
        />
      </InlineField>

      {(type === 'incidents' || type === 'counts' || type === 'annotations') && filters}

      {type === 'incidents' && (
        <InlineField label="Label columns" labelWidth={WIDTH} tooltip="Incident labels shown as columns">
          <TagsInput tags={query.labelColumns ?? []} onChange={(tags) => update({ labelColumns: tags })} placeholder="label name + Enter" />
        </InlineField>
      )}

      {type === 'counts' && (
        <Stack wrap="wrap" gap={0.5}>
          <InlineField label="Count" labelWidth={WIDTH}>
            <RadioButtonGroup
              options={[
                { value: 'opened', label: 'Opened per interval' },
                { value: 'open', label: 'Open during interval' },
              ]}
              value={query.countMode ?? 'opened'}
              onChange={(v) => update({ countMode: v as IncidentsQuery['countMode'] })}
            />
          </InlineField>
          <InlineField label="Split by" labelWidth={10}>
            <RadioButtonGroup
              options={[
                { value: '', label: 'None' },
                { value: 'tier', label: 'Tier' },
                { value: 'state', label: 'State' },
                { value: 'team', label: 'Team' },
                { value: 'model', label: 'Model' },
              ]}
              value={query.splitBy ?? ''}
              onChange={(v) => update({ splitBy: v as IncidentsQuery['splitBy'] })}
            />
          </InlineField>
          <InlineField label="Interval" labelWidth={10} tooltip="e.g. 1h or 1d; default: the panel's">
            <Input
              aria-label="Interval"
              width={10}
              placeholder="auto"
              value={query.interval ?? ''}
              onChange={(e) => update({ interval: e.currentTarget.value }, false)}
              onBlur={onRunQuery}
            />
          </InlineField>
        </Stack>
      )}

      {type === 'stats' && (
        <Stack wrap="wrap" gap={0.5}>
          <InlineField label="Group by" labelWidth={WIDTH} tooltip="One value per group; alert rules get one series per group">
            <RadioButtonGroup
              options={[
                { value: 'total', label: 'Total' },
                { value: 'tier', label: 'Tier' },
                { value: 'team', label: 'Team' },
                { value: 'model', label: 'Model' },
              ]}
              value={query.groupBy || 'total'}
              onChange={(v) => update({ groupBy: v as IncidentsQuery['groupBy'] })}
            />
          </InlineField>
          <InlineField label="Numbers" labelWidth={10} tooltip="All numbers, or one (e.g. for a stat panel or an alert rule)">
            <RadioButtonGroup
              options={[
                { value: '', label: 'All' },
                { value: 'open', label: 'Open' },
                { value: 'sla_breached', label: 'SLA breaches' },
                { value: 'mtta', label: 'MTTA' },
                { value: 'mttr', label: 'MTTR' },
                { value: 'count', label: 'Count' },
              ]}
              value={query.stat ?? ''}
              onChange={(v) => update({ stat: v || undefined })}
            />
          </InlineField>
          {multi('tiers', [...TIERS], 'Tier')}
          {multi('teams', teams, 'Team')}
          {multi('models', models, 'Model')}
        </Stack>
      )}

      {(type === 'timeline' || type === 'evidence') && (
        <InlineField label="Incident" labelWidth={WIDTH} tooltip="Incident number, or a variable such as $incident" required>
          <Input
            aria-label="Incident"
            width={20}
            placeholder="42 or $incident"
            value={query.incidentId ?? ''}
            onChange={(e) => update({ incidentId: e.currentTarget.value }, false)}
            onBlur={onRunQuery}
          />
        </InlineField>
      )}

      {type === 'annotations' && (
        <InlineField label="Include changes" labelWidth={WIDTH} tooltip="Deploys and other change-log entries">
          <InlineSwitch
            aria-label="Include changes"
            value={Boolean(query.includeChanges)}
            onChange={(e) => update({ includeChanges: e.currentTarget.checked })}
          />
        </InlineField>
      )}

      {type === 'variables' && (
        <InlineField label="Values of" labelWidth={WIDTH}>
          <RadioButtonGroup
            options={[
              { value: 'teams', label: 'Teams' },
              { value: 'models', label: 'Models' },
              { value: 'tiers', label: 'Tiers' },
              { value: 'states', label: 'States' },
            ]}
            value={query.variable ?? 'teams'}
            onChange={(v) => update({ variable: v as IncidentsQuery['variable'] })}
          />
        </InlineField>
      )}
    </Stack>
  );
}
