DROP INDEX `content_flows_session_idx`;--> statement-breakpoint
DROP INDEX `content_flows_range_idx`;--> statement-breakpoint
CREATE INDEX `content_flows_read_range_idx` ON `content_flows` (`log`,`space`,`resource_id`,`idx`) WHERE kind = 'read';