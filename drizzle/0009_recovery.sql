CREATE TABLE `content_flows` (
	`log` text NOT NULL,
	`audit_index` integer NOT NULL,
	`kind` text NOT NULL,
	`space` text NOT NULL,
	`resource_id` text NOT NULL,
	`idx` integer NOT NULL,
	`version` integer NOT NULL,
	`copy_of` integer,
	`jti` text,
	`session` text,
	`actor_type` text NOT NULL,
	`actor_id` text,
	`time` text NOT NULL,
	PRIMARY KEY(`log`, `audit_index`, `kind`, `space`, `resource_id`, `idx`)
);
--> statement-breakpoint
CREATE INDEX `content_flows_version_idx` ON `content_flows` (`space`,`resource_id`,`idx`,`version`,`kind`);--> statement-breakpoint
CREATE INDEX `content_flows_copy_idx` ON `content_flows` (`space`,`resource_id`,`idx`,`copy_of`) WHERE copy_of IS NOT NULL;--> statement-breakpoint
CREATE INDEX `content_flows_session_idx` ON `content_flows` (`log`,`session`,`audit_index`) WHERE session IS NOT NULL;--> statement-breakpoint
CREATE INDEX `content_flows_range_idx` ON `content_flows` (`log`,`kind`,`space`,`resource_id`,`idx`);--> statement-breakpoint
CREATE TABLE `labels` (
	`tenant_id` text NOT NULL,
	`name` text NOT NULL,
	`space` text NOT NULL,
	`resource_id` text NOT NULL,
	`start` integer NOT NULL,
	`count` integer NOT NULL,
	`revision` integer DEFAULT 1 NOT NULL,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')) NOT NULL,
	`updated_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')) NOT NULL,
	PRIMARY KEY(`tenant_id`, `name`)
);
--> statement-breakpoint
CREATE TABLE `recovery_plans` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`mode` text NOT NULL,
	`request` text NOT NULL,
	`result` text NOT NULL,
	`state` text DEFAULT 'planned' NOT NULL,
	`log_size` integer NOT NULL,
	`revision` integer DEFAULT 1 NOT NULL,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')) NOT NULL,
	`updated_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')) NOT NULL
);
--> statement-breakpoint
CREATE INDEX `recovery_plans_tenant_idx` ON `recovery_plans` (`tenant_id`,`id`);--> statement-breakpoint
CREATE TABLE `undone_versions` (
	`space` text NOT NULL,
	`resource_id` text NOT NULL,
	`idx` integer NOT NULL,
	`version` integer NOT NULL,
	`plan_id` text NOT NULL,
	PRIMARY KEY(`space`, `resource_id`, `idx`, `version`, `plan_id`)
);
--> statement-breakpoint
CREATE INDEX `undone_versions_plan_idx` ON `undone_versions` (`plan_id`);--> statement-breakpoint
ALTER TABLE `audit_records` ADD `session` text;--> statement-breakpoint
CREATE INDEX `audit_records_session_idx` ON `audit_records` (`log`,`session`) WHERE session IS NOT NULL;