import { describe, expect, it } from 'vitest';
import { compiledWrite, write, type Placeholders } from '../../platform/db/statements';
import { insertVmSql, type NewVm } from './vms.service';

const vm: NewVm = { id: 'vm_01', tenantId: 'ten_01', hostId: 'hst_01', name: 'web', vcpus: 2, memoryMiB: 512 };

describe("a create's guarded INSERT, built once", () => {
  it('is the statement drizzle builds for the same VM, text and parameters, for every VM', () => {
    // The values in place of the placeholders: what the create built on every call before.
    const builtEachTime = write(insertVmSql(vm as unknown as Placeholders<NewVm>));
    expect(compiledWrite(insertVmSql)(vm)).toEqual(builtEachTime);
    expect(builtEachTime.params).toContain('hst_01');
    // Another VM through the same compiled statement gets its own parameters, not the first one's.
    const other = { ...vm, id: 'vm_02', vcpus: 4 };
    expect(compiledWrite(insertVmSql)(other)).toEqual(write(insertVmSql(other as unknown as Placeholders<NewVm>)));
  });
});
