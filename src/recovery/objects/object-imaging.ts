/**
 * The object-history index (platform/db/schema `object_history`), written in
 * each record's own batch as one of the log's sequencer extensions
 * (audit/log/extensions.ts): each tenant object an allowed record's writes
 * change is imaged before them and after them, so undo (./object-history.ts)
 * can put it back exactly as it was. Nothing is imaged for a record that
 * changed nothing (denied, failed).
 */
import type { LogExtension } from '../../audit/log/extensions';
import type { WriteStatement } from '../../platform/db/statements';

/** An object a write changes, with the query that images it (./object-kinds.ts `imageQuery`). */
export interface ObjectImaging {
  object: string;
  image: WriteStatement;
}

declare module '../../audit/log/extensions' {
  interface AppendEffects {
    /** Tenant objects besides contents that the writes change: imaged before and after them into the object-history index. */
    objects?: ObjectImaging[];
  }
}

export const objectImaging = (): LogExtension => ({
  statements({ db, record, entry: { objects } }) {
    if (!objects || objects.length === 0 || record.outcome !== 'allowed') return undefined;
    const { log, index } = record;
    return {
      beforeWrites: objects.map((o) =>
        db
          .prepare(`INSERT INTO object_history (log, audit_index, object, before) VALUES (?, ?, ?, (${o.image.sql}))`)
          .bind(log, index, o.object, ...o.image.params),
      ),
      afterRecord: objects.map((o) =>
        db
          .prepare(`UPDATE object_history SET after = (${o.image.sql}) WHERE log = ? AND audit_index = ? AND object = ?`)
          .bind(...o.image.params, log, index, o.object),
      ),
    };
  },
});
