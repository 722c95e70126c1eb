import { sql, type SQL } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { compiledWrite, write, type Placeholders } from './statements';

type Rename = { id: string; name: string; limit: number };
/** A value used twice and one inside a nested fragment, as guards bind them. */
const renameSql = (v: Placeholders<Rename>): SQL =>
  sql`UPDATE vms SET name = ${v.name} WHERE id = ${v.id} AND ${sql`(SELECT count(*) FROM vms WHERE name = ${v.name}) < ${v.limit}`}`;

describe('a write built once (compiledWrite)', () => {
  it('is the statement drizzle builds for the same values, text and parameters, and shares no values between calls', () => {
    const values: Rename = { id: 'vm_01', name: 'web', limit: 2 };
    // The values in place of the placeholders: what building on every call gives.
    expect(compiledWrite(renameSql)(values)).toEqual(write(renameSql(values as unknown as Placeholders<Rename>)));
    const rename = compiledWrite(renameSql);
    rename(values);
    expect(rename({ id: 'vm_02', name: 'db', limit: 3 }).params).toEqual(['db', 'vm_02', 'db', 3]);
  });

  it('refuses a call that leaves a placeholder without its value', () => {
    const byName = compiledWrite<{ id: string; name: string }>((v) => sql`UPDATE vms SET name = ${v.name} WHERE id = ${v.id}`);
    expect(byName({ id: 'vm_01', name: 'a' })).toEqual({ sql: 'UPDATE vms SET name = ? WHERE id = ?', params: ['a', 'vm_01'] });
    expect(() => byName({ id: 'vm_01' } as never)).toThrow(/name/);
  });
});
