CREATE TABLE `audit_keys` (
	`kid` text PRIMARY KEY NOT NULL,
	`public_jwk` text NOT NULL,
	`state` text NOT NULL,
	`activated_at` text NOT NULL,
	`retired_at` text
);
--> statement-breakpoint
CREATE TABLE `audit_logs` (
	`log` text PRIMARY KEY NOT NULL,
	`size` integer NOT NULL,
	`root` text NOT NULL,
	`frontier` text NOT NULL,
	`checkpoint` text NOT NULL,
	`updated_at` text NOT NULL
);
--> statement-breakpoint
CREATE TABLE `audit_nodes` (
	`log` text NOT NULL,
	`level` integer NOT NULL,
	`idx` integer NOT NULL,
	`hash` text NOT NULL,
	PRIMARY KEY(`log`, `level`, `idx`)
);
--> statement-breakpoint
CREATE TABLE `audit_records` (
	`log` text NOT NULL,
	`idx` integer NOT NULL,
	`jws` text NOT NULL,
	`time` text NOT NULL,
	`action` text NOT NULL,
	`actor_id` text,
	`outcome` text NOT NULL,
	PRIMARY KEY(`log`, `idx`)
);
--> statement-breakpoint
CREATE INDEX `audit_records_actor_idx` ON `audit_records` (`log`,`actor_id`);--> statement-breakpoint
CREATE TABLE `write_assertions` (
	`label` text NOT NULL,
	`expected` integer NOT NULL,
	`actual` integer NOT NULL
);
