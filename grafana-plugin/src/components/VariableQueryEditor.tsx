import { InlineField, RadioButtonGroup } from '@grafana/ui';

import type { VariableKind } from '../types';

interface Props {
  query: { variable?: VariableKind } | string;
  onChange: (query: { variable: VariableKind }, definition: string) => void;
}

const KINDS: Array<{ value: VariableKind; label: string }> = [
  { value: 'teams', label: 'Teams' },
  { value: 'models', label: 'Models' },
  { value: 'tiers', label: 'Tiers' },
  { value: 'states', label: 'States' },
];

/** The variable editor: which list of values the variable offers. */
export function VariableQueryEditor({ query, onChange }: Props) {
  const current: VariableKind = (typeof query === 'string' ? (query as VariableKind) : query?.variable) || 'teams';
  return (
    <InlineField label="Values of" labelWidth={16}>
      <RadioButtonGroup<VariableKind> options={KINDS} value={current} onChange={(v) => onChange({ variable: v }, `incidents ${v}`)} />
    </InlineField>
  );
}
