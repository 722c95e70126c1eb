CREATE TABLE `emulator_state` (
	`id` integer PRIMARY KEY NOT NULL,
	`clock_offset_ms` integer DEFAULT 0 NOT NULL,
	`faults` text DEFAULT '[]' NOT NULL
);
