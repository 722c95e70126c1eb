CREATE TABLE `object_history` (
	`log` text NOT NULL,
	`audit_index` integer NOT NULL,
	`object` text NOT NULL,
	`before` text,
	`after` text,
	PRIMARY KEY(`log`, `audit_index`, `object`)
);
--> statement-breakpoint
CREATE INDEX `object_history_object_idx` ON `object_history` (`log`,`object`,`audit_index`);