CREATE TABLE `replay_assertions` (
	`actual` integer NOT NULL
);
