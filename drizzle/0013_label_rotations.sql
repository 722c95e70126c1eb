CREATE TABLE `label_rotations` (
	`tenant_id` text NOT NULL,
	`label` text NOT NULL,
	`rotation` text NOT NULL,
	`rotated_at` text NOT NULL,
	PRIMARY KEY(`tenant_id`, `label`, `rotation`)
);
