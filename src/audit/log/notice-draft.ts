/** The notice of a record in another log (notices.ts): the same draft, naming the primary record. Apart, so the sequencer needs nothing that appends. */
import type { RecordDraft } from '../format/record';

export const noticeDraft = (draft: RecordDraft, primary: { log: string; index: number }): RecordDraft => ({
  ...draft,
  details: { ...(draft.details ?? {}), primary },
});
