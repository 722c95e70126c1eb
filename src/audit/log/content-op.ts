/**
 * A page read or write as the log's sequencer receives it, versions not yet
 * resolved: the sequencer names them from the page heads it follows and puts
 * them in the record (tenant/contents/content-statements.ts builds the
 * statements). Here, at the bottom, so the commit interface and the tenant's
 * contents can both name it without importing each other.
 */
import type { Space } from '../../lib/envelope-format';

/** A VM's memory or a disk of a tenant. */
export interface ContentAddress {
  space: Space;
  /** VM id (memory) or disk id. */
  id: string;
  tenant: string;
}

export type ContentOp =
  | (ContentAddress & { op: 'read'; start: number; count: number })
  | (ContentAddress & { op: 'write'; pages: { index: number; digest: string; envelope: string }[] });
