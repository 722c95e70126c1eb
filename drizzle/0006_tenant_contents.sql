CREATE TABLE `content_heads` (
	`space` text NOT NULL,
	`resource_id` text NOT NULL,
	`idx` integer NOT NULL,
	`version` integer NOT NULL,
	PRIMARY KEY(`space`, `resource_id`, `idx`)
);
--> statement-breakpoint
CREATE TABLE `content_versions` (
	`space` text NOT NULL,
	`resource_id` text NOT NULL,
	`idx` integer NOT NULL,
	`version` integer NOT NULL,
	`tenant_id` text NOT NULL,
	`digest` text NOT NULL,
	`envelope` text NOT NULL,
	`origin` text,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')) NOT NULL,
	PRIMARY KEY(`space`, `resource_id`, `idx`, `version`)
);
--> statement-breakpoint
CREATE TABLE `disks` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`name` text NOT NULL,
	`size_gib` integer NOT NULL,
	`vm_id` text,
	`revision` integer DEFAULT 1 NOT NULL,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')) NOT NULL,
	`updated_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')) NOT NULL,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `disks_tenant_name_uq` ON `disks` (`tenant_id`,`name`);--> statement-breakpoint
CREATE INDEX `disks_tenant_size_idx` ON `disks` (`tenant_id`,`size_gib`);--> statement-breakpoint
CREATE INDEX `disks_vm_idx` ON `disks` (`vm_id`);--> statement-breakpoint
CREATE TABLE `snapshot_items` (
	`snapshot_id` text NOT NULL,
	`space` text NOT NULL,
	`resource_id` text NOT NULL,
	`idx` integer NOT NULL,
	`version` integer NOT NULL,
	PRIMARY KEY(`snapshot_id`, `space`, `resource_id`, `idx`)
);
--> statement-breakpoint
CREATE TABLE `snapshots` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`vm_id` text NOT NULL,
	`name` text NOT NULL,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')) NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `snapshots_tenant_name_uq` ON `snapshots` (`tenant_id`,`name`);--> statement-breakpoint
CREATE INDEX `snapshots_vm_idx` ON `snapshots` (`vm_id`);--> statement-breakpoint
CREATE TABLE `toolstacks` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`name` text NOT NULL,
	`kid` text NOT NULL,
	`jwk` text NOT NULL,
	`scopes` text NOT NULL,
	`vms` text,
	`state` text DEFAULT 'active' NOT NULL,
	`revoked_at` text,
	`revision` integer DEFAULT 1 NOT NULL,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')) NOT NULL,
	`updated_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')) NOT NULL,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `toolstacks_kid_uq` ON `toolstacks` (`kid`);--> statement-breakpoint
CREATE UNIQUE INDEX `toolstacks_tenant_name_uq` ON `toolstacks` (`tenant_id`,`name`);--> statement-breakpoint
CREATE TABLE `wrapped_keys` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`name` text NOT NULL,
	`wrapped` text NOT NULL,
	`revision` integer DEFAULT 1 NOT NULL,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')) NOT NULL,
	`updated_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')) NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `wrapped_keys_tenant_name_uq` ON `wrapped_keys` (`tenant_id`,`name`);