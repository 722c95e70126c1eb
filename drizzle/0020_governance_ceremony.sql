CREATE TABLE `access_policies` (
	`tenant_id` text NOT NULL,
	`reason_code` text NOT NULL,
	`decision` text NOT NULL,
	`max_minutes` integer,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')) NOT NULL,
	`updated_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')) NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `access_policies_uq` ON `access_policies` (`tenant_id`,`reason_code`);--> statement-breakpoint
CREATE TABLE `bootstrap_reenables` (
	`admin_id` text PRIMARY KEY NOT NULL,
	`until` text NOT NULL,
	`change_id` text NOT NULL
);
--> statement-breakpoint
CREATE TABLE `sealed_records` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`access_request` text NOT NULL,
	`sealed_index` integer,
	`commitment` text NOT NULL,
	`hidden` text NOT NULL,
	`seal_until` text NOT NULL,
	`revealed_index` integer,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')) NOT NULL,
	`updated_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')) NOT NULL
);
--> statement-breakpoint
CREATE INDEX `sealed_records_due_idx` ON `sealed_records` (`revealed_index`,`seal_until`);--> statement-breakpoint
ALTER TABLE `access_requests` ADD `decided_by` text;--> statement-breakpoint
ALTER TABLE `access_requests` ADD `break_glass` integer DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE `access_requests` ADD `seal_until` text;--> statement-breakpoint
ALTER TABLE `access_requests` ADD `revealed_at` text;--> statement-breakpoint
UPDATE `access_requests` SET `reason_code` = 'customer_support' WHERE `reason_code` = 'support_case';