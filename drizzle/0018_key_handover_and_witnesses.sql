CREATE TABLE `audit_cosigned` (
	`log` text NOT NULL,
	`size` integer NOT NULL,
	`note` text NOT NULL,
	`cosignatures` integer NOT NULL,
	`updated_at` text NOT NULL,
	PRIMARY KEY(`log`, `size`)
);
--> statement-breakpoint
ALTER TABLE `audit_keys` ADD `change_id` text;--> statement-breakpoint
ALTER TABLE `audit_keys` ADD `approval_index` integer;--> statement-breakpoint
ALTER TABLE `audit_keys` ADD `handover` text;