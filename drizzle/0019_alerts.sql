CREATE TABLE `alert_deliveries` (
	`rule_id` text NOT NULL,
	`log` text NOT NULL,
	`audit_index` integer NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`next_attempt_at` integer NOT NULL,
	`delivered_at` text,
	`last_error` text,
	PRIMARY KEY(`rule_id`, `audit_index`)
);
--> statement-breakpoint
CREATE INDEX `alert_deliveries_due_idx` ON `alert_deliveries` (`next_attempt_at`) WHERE delivered_at IS NULL;--> statement-breakpoint
CREATE TABLE `alert_rules` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`kind` text NOT NULL,
	`url` text NOT NULL,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')) NOT NULL
);
--> statement-breakpoint
CREATE INDEX `alert_rules_tenant_idx` ON `alert_rules` (`tenant_id`);