CREATE TABLE `audit_notice_outbox` (
	`log` text NOT NULL,
	`idx` integer NOT NULL,
	`target_log` text NOT NULL,
	`draft` text NOT NULL,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')) NOT NULL,
	PRIMARY KEY(`log`, `idx`, `target_log`)
);
--> statement-breakpoint
CREATE INDEX `audit_notice_outbox_target_idx` ON `audit_notice_outbox` (`target_log`);--> statement-breakpoint
CREATE TABLE `audit_notice_receipts` (
	`primary_log` text NOT NULL,
	`primary_idx` integer NOT NULL,
	`target_log` text NOT NULL,
	PRIMARY KEY(`primary_log`, `primary_idx`, `target_log`)
);
