-- Issue 34: page envelopes as BLOBs (4141 bytes) instead of base64 text (5,524 characters).
-- Custom migration (drizzle-kit cannot write it): the column keeps its declared type — TEXT affinity
-- stores a BLOB as a BLOB, and changing the declaration would rebuild the table for nothing.
-- SQLite has no base64 decoder, so each envelope is decoded here: its text read as bytes (so substr
-- is a byte offset, not a UTF-8 walk), four characters at a time into three bytes of hex, then unhex.
-- Measured ~4-7 ms a page on this machine; a deployment with many pages runs it in the quiet hours.
UPDATE content_versions SET envelope = (
  WITH RECURSIVE src(b) AS (SELECT CAST(content_versions.envelope AS BLOB)),
  quads(pos) AS (SELECT 1 UNION ALL SELECT pos + 4 FROM quads, src WHERE pos + 4 <= length(b))
  SELECT unhex(group_concat(
    substr(printf('%06X',
      (max(instr(CAST('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/' AS BLOB), substr(b, pos + 0, 1)) - 1, 0) << 18)
      | (max(instr(CAST('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/' AS BLOB), substr(b, pos + 1, 1)) - 1, 0) << 12)
      | (max(instr(CAST('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/' AS BLOB), substr(b, pos + 2, 1)) - 1, 0) << 6)
      | max(instr(CAST('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/' AS BLOB), substr(b, pos + 3, 1)) - 1, 0)),
      1, 6 - 2 * ((substr(b, pos + 2, 1) = CAST('=' AS BLOB)) + (substr(b, pos + 3, 1) = CAST('=' AS BLOB)))),
    '' ORDER BY pos))
  FROM quads, src
) WHERE typeof(envelope) = 'text';
