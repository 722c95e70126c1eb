CREATE TABLE `idempotency_assertions` (
	`actual` integer NOT NULL
);
--> statement-breakpoint
ALTER TABLE `idempotency_records` ADD `claim` text;--> statement-breakpoint
ALTER TABLE `idempotency_records` ADD `request_id` text;--> statement-breakpoint
ALTER TABLE `idempotency_records` ADD `committed_at` integer;--> statement-breakpoint
-- Marking a key's claim committed must change exactly its one row; otherwise the claim was lost and the batch aborts.
CREATE TRIGGER `idempotency_assertions_check` BEFORE INSERT ON `idempotency_assertions`
BEGIN
  SELECT CASE
    WHEN NEW.actual = 1 THEN RAISE(IGNORE)
    ELSE RAISE(ABORT, 'idempotency claim lost')
  END;
END;
