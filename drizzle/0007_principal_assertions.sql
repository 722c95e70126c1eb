CREATE TABLE `principal_assertions` (
	`actual` integer NOT NULL
);
