DROP INDEX `vms_host_idx`;--> statement-breakpoint
CREATE INDEX `vms_host_alloc_idx` ON `vms` (`host_id`,`vcpus`,`memory_mib`);--> statement-breakpoint
CREATE INDEX `vms_tenant_alloc_idx` ON `vms` (`tenant_id`,`vcpus`,`memory_mib`);