CREATE TABLE `access_requests` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`vm_id` text NOT NULL,
	`operation` text NOT NULL,
	`reason_code` text NOT NULL,
	`detail` text NOT NULL,
	`duration_minutes` integer NOT NULL,
	`requester` text NOT NULL,
	`state` text DEFAULT 'pending' NOT NULL,
	`valid_until` text,
	`uses` integer DEFAULT 0 NOT NULL,
	`revision` integer DEFAULT 1 NOT NULL,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')) NOT NULL,
	`updated_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')) NOT NULL
);
--> statement-breakpoint
CREATE INDEX `access_requests_tenant_idx` ON `access_requests` (`tenant_id`,`id`);--> statement-breakpoint
CREATE TABLE `change_requests` (
	`id` text PRIMARY KEY NOT NULL,
	`operation` text NOT NULL,
	`target_type` text NOT NULL,
	`target_id` text NOT NULL,
	`tenants` text NOT NULL,
	`params` text NOT NULL,
	`required_role` text NOT NULL,
	`target_revision` integer,
	`proposer` text NOT NULL,
	`approvals` text DEFAULT '[]' NOT NULL,
	`state` text DEFAULT 'pending' NOT NULL,
	`decided_by` text,
	`failure` text,
	`expires_at` text NOT NULL,
	`revision` integer DEFAULT 1 NOT NULL,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')) NOT NULL,
	`updated_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')) NOT NULL
);
--> statement-breakpoint
CREATE INDEX `change_requests_state_idx` ON `change_requests` (`state`,`id`);--> statement-breakpoint
ALTER TABLE `admins` ADD `name` text DEFAULT '' NOT NULL;--> statement-breakpoint
ALTER TABLE `admins` ADD `revision` integer DEFAULT 1 NOT NULL;