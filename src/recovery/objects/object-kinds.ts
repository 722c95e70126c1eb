/**
 * The tenant objects besides contents that an action can change, and how each
 * is imaged and restored (platform/db/schema `object_history`): a toolstack
 * (its ceiling and state), a wrapped key, a label, a disk (its attachment), a
 * snapshot (with the versions it holds), a VM's power state.
 *
 * An image is the object's row as JSON (`json_object` of its columns, a
 * snapshot's items under `_items`), or NULL when there is no row: taken by
 * the same SQL before and after the action, in the action's batch, so two
 * images of an unchanged object are the same text. A restore is guarded on
 * that text: it moves the object from the image a plan found to the image it
 * wants, or fails the batch (the plan is stale).
 */
import { getTableConfig, type SQLiteTable } from 'drizzle-orm/sqlite-core';
import type { WriteStatement } from '../../audit/log/commit';
import type { ObjectImaging } from './object-imaging';
import { expectChanges } from '../../audit/log/commit';
import { disks, labels, snapshotItems, snapshots, toolstacks, vms, wrappedKeys } from '../../platform/db/schema';

interface ObjectKind {
  table: SQLiteTable;
  /** The key columns, in the order the object id lists them. */
  key: readonly string[];
  /** The columns imaged (default: all). */
  columns?: readonly string[];
  /** Rows of another table that belong to the object (a snapshot's items). */
  children?: { table: SQLiteTable; parentKey: string };
  /** What "as if never created" means: no row (`delete`), the row revoked (`revoke`, a toolstack: its records stay attributable), or never asked (`keep`). */
  absent: 'delete' | 'revoke' | 'keep';
}

export const OBJECT_KINDS = {
  toolstack: { table: toolstacks, key: ['id'], absent: 'revoke' },
  key: { table: wrappedKeys, key: ['id'], absent: 'delete' },
  label: { table: labels, key: ['tenant_id', 'name'], absent: 'delete' },
  disk: { table: disks, key: ['id'], absent: 'delete' },
  snapshot: { table: snapshots, key: ['id'], children: { table: snapshotItems, parentKey: 'snapshot_id' }, absent: 'delete' },
  'vm-power': { table: vms, key: ['id'], columns: ['id', 'state'], absent: 'keep' },
} as const satisfies Record<string, ObjectKind>;

export type ObjectKindName = keyof typeof OBJECT_KINDS;

/** An object a write changes: its kind and key values, e.g. `{ kind: 'label', key: [tenant, name] }`. */
export interface ObjectRef {
  kind: ObjectKindName;
  key: readonly string[];
}

export const objectId = ({ kind, key }: ObjectRef): string => `${kind}:${JSON.stringify(key)}`;

export function parseObjectId(object: string): ObjectRef {
  const colon = object.indexOf(':');
  return { kind: object.slice(0, colon) as ObjectKindName, key: JSON.parse(object.slice(colon + 1)) as string[] };
}

const ident = (name: string) => `"${name.replace(/"/g, '""')}"`;
const tableName = (table: SQLiteTable) => getTableConfig(table).name;
const columnsOf = (table: SQLiteTable) => getTableConfig(table).columns.map((c) => c.name);

function shape(kind: ObjectKindName) {
  const k: ObjectKind = OBJECT_KINDS[kind];
  return { ...k, name: tableName(k.table), columns: k.columns ?? columnsOf(k.table) };
}

const jsonPairs = (columns: readonly string[], alias: string) => columns.map((c) => `'${c}', ${alias}.${ident(c)}`).join(', ');
const keyWhere = (key: readonly string[], alias: string) => key.map((c) => `${alias}.${ident(c)} = ?`).join(' AND ');

/** One value: the object's image now (JSON text), or NULL when it has no row. */
export function imageQuery(ref: ObjectRef): WriteStatement {
  const k = shape(ref.kind);
  let items = '';
  if (k.children) {
    const child = tableName(k.children.table);
    const childColumns = columnsOf(k.children.table);
    // Ordered by every column, so the same items always image as the same text.
    const rows = `SELECT json_object(${jsonPairs(childColumns, 'c')}) AS item FROM ${ident(child)} c WHERE c.${ident(k.children.parentKey)} = o.${ident(k.key[0]!)} ORDER BY ${childColumns.map((c) => `c.${ident(c)}`).join(', ')}`;
    items = `, '_items', (SELECT json_group_array(json(item)) FROM (${rows}))`;
  }
  return { sql: `SELECT json_object(${jsonPairs(k.columns, 'o')}${items}) FROM ${ident(k.name)} o WHERE ${keyWhere(k.key, 'o')}`, params: [...ref.key] };
}

/** The image that stands for "as if the object had never been made", from its current image. */
export function absentImage(kind: ObjectKindName, current: string | null, now: string): string | null {
  const policy = OBJECT_KINDS[kind].absent;
  if (policy === 'delete' || current === null) return null;
  if (policy === 'keep') return current;
  const row = JSON.parse(current) as Record<string, unknown>;
  return JSON.stringify({ ...row, state: 'revoked', revoked_at: row.revoked_at ?? now });
}

/**
 * Statements that move the object from image `from` to image `to` within a
 * batch, or abort it: a guard first (a no-op update that must match the
 * object exactly as `from`, or an insert that must not collide), then the
 * rows. Children (a snapshot's items) are replaced with the parent.
 */
export function restoreStatements(ref: ObjectRef, from: string | null, to: string | null, label: string): WriteStatement[] {
  if (from === to) return [];
  const k = shape(ref.kind);
  const image = imageQuery(ref);
  const statements: WriteStatement[] = [];
  const keyParams = [...ref.key];
  if (from !== null) {
    statements.push(
      {
        sql: `UPDATE ${ident(k.name)} SET ${ident(k.key[0]!)} = ${ident(k.key[0]!)} WHERE ${keyWhere(k.key, ident(k.name))} AND (${image.sql}) = ?`,
        params: [...keyParams, ...image.params, from],
      },
      expectChanges(`${label} ${objectId(ref)} unchanged since planned`),
    );
  }
  if (k.children) {
    const child = ident(tableName(k.children.table));
    statements.push({ sql: `DELETE FROM ${child} WHERE ${ident(k.children.parentKey)} = ?`, params: [ref.key[0]!] });
  }
  const set = (json: string) => ({ values: k.columns.map((c) => `json_extract(?, '$.${c}')`).join(', '), params: k.columns.map(() => json) });
  if (to === null) {
    statements.push({ sql: `DELETE FROM ${ident(k.name)} WHERE ${keyWhere(k.key, ident(k.name))}`, params: keyParams });
  } else if (from === null) {
    const { values, params } = set(to);
    // A row that appeared meanwhile collides with this insert: the batch fails, the plan is stale.
    statements.push({ sql: `INSERT INTO ${ident(k.name)} (${k.columns.map(ident).join(', ')}) VALUES (${values})`, params });
  } else {
    const assignments = k.columns.filter((c) => !k.key.includes(c)).map((c) => `${ident(c)} = json_extract(?, '$.${c}')`);
    statements.push({
      sql: `UPDATE ${ident(k.name)} SET ${assignments.join(', ')} WHERE ${keyWhere(k.key, ident(k.name))}`,
      params: [...assignments.map(() => to), ...keyParams],
    });
  }
  if (k.children && to !== null) {
    const childTable = k.children.table;
    const childColumns = columnsOf(childTable);
    statements.push({
      sql: `INSERT INTO ${ident(tableName(childTable))} (${childColumns.map(ident).join(', ')}) SELECT ${childColumns.map((c) => `json_extract(value, '$.${c}')`).join(', ')} FROM json_each(?, '$._items')`,
      params: [to],
    });
  }
  return statements;
}

/** What a service passes to `commit` for an object its writes change (audit/log/commit.ts `objects`). */
export const imaging = (kind: ObjectKindName, ...key: string[]): ObjectImaging => {
  const ref = { kind, key };
  return { object: objectId(ref), image: imageQuery(ref) };
};
