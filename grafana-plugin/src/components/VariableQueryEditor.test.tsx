import { fireEvent, render, screen } from '@testing-library/react';
import { describe, expect, it, vi } from 'vitest';

import { VariableQueryEditor } from './VariableQueryEditor';

describe('VariableQueryEditor', () => {
  it('selects which values the variable lists', () => {
    const onChange = vi.fn();
    render(<VariableQueryEditor query={{ variable: 'teams' }} onChange={onChange} />);
    expect((screen.getByRole('radio', { name: 'Teams' }) as HTMLInputElement).checked).toBe(true);
    fireEvent.click(screen.getByRole('radio', { name: 'Models' }));
    expect(onChange).toHaveBeenCalledWith({ variable: 'models' }, 'incidents models');
  });
});
