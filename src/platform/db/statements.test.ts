import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { compiledWrite, write, type Placeholders } from './statements';
import { insertVmSql, type NewVm } from '../../provider/vms/vms.service';

const vm: NewVm = { id: 'vm_01', tenantId: 'ten_01', hostId: 'hst_01', name: 'web', vcpus: 2, memoryMiB: 512 };

describe('a write built once (compiledWrite)', () => {
  it('is the statement drizzle builds for the same values, text and parameters', () => {
    // The values in place of the placeholders: what the create built on every call before.
    const builtEachTime = write(insertVmSql(vm as unknown as Placeholders<NewVm>));
    expect(compiledWrite(insertVmSql)(vm)).toEqual(builtEachTime);
    expect(builtEachTime.params).toContain('hst_01');
    // Another VM through the same compiled statement gets its own parameters, not the first one's.
    const other = { ...vm, id: 'vm_02', vcpus: 4 };
    expect(compiledWrite(insertVmSql)(other)).toEqual(write(insertVmSql(other as unknown as Placeholders<NewVm>)));
  });

  it('refuses a call that leaves a placeholder without its value', () => {
    const byName = compiledWrite<{ id: string; name: string }>((v) => sql`UPDATE vms SET name = ${v.name} WHERE id = ${v.id}`);
    expect(byName({ id: 'vm_01', name: 'a' })).toEqual({ sql: 'UPDATE vms SET name = ? WHERE id = ?', params: ['a', 'vm_01'] });
    expect(() => byName({ id: 'vm_01' } as never)).toThrow(/name/);
  });
});
