import { describe, expect, it } from 'vitest';
import { onUnique, rejection } from './commit';

const insert = { sql: 'INSERT INTO toolstacks …', params: [] };

describe('a refused batch, classified', () => {
  it('carries the reason the statement that broke a unique key declared for it', () => {
    const writes = [onUnique(insert, { 'toolstacks.kid': 'kid_taken', toolstacks: 'name_taken' })];
    expect(rejection('D1_ERROR: UNIQUE constraint failed: toolstacks.kid: SQLITE_CONSTRAINT', writes)).toMatchObject({
      rejected: 'unique',
      reason: 'kid_taken',
    });
    // Any other key of the table: the table's reason.
    expect(rejection('UNIQUE constraint failed: toolstacks.tenant_id, toolstacks.name', writes)).toMatchObject({ rejected: 'unique', reason: 'name_taken' });
    // A key no statement speaks for: unique, with no reason.
    expect(rejection('UNIQUE constraint failed: audit_nodes.log, audit_nodes.level, audit_nodes.idx', writes)).toEqual({
      ok: false,
      rejected: 'unique',
      message: 'UNIQUE constraint failed: audit_nodes.log, audit_nodes.level, audit_nodes.idx',
    });
  });

  it("names the guards' own refusals, and nothing else", () => {
    expect(rejection('write assertion failed')).toMatchObject({ rejected: 'assertion' });
    expect(rejection('token replayed')).toMatchObject({ rejected: 'replay' });
    expect(rejection('principal changed')).toMatchObject({ rejected: 'principal' });
    expect(rejection('idempotency claim lost')).toMatchObject({ rejected: 'idempotency' });
    expect(rejection('FOREIGN KEY constraint failed')).toMatchObject({ rejected: 'constraint' });
    expect(rejection('D1 is overloaded')).toBeNull();
  });
});
