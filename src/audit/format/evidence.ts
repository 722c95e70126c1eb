/**
 * What a content read carries for its reader to check the bytes against
 * (issue 30): the read's own signed record, and the records that wrote the
 * versions served. Shared by the server (tenant/contents) and the SDK
 * (sdk/read-evidence.ts), which checks it.
 */
export interface SignedRecord {
  index: number;
  /** The record as signed by the audit key (compact JWS). */
  jws: string;
}

export interface ReadEvidence {
  read: SignedRecord;
  writes: SignedRecord[];
}
