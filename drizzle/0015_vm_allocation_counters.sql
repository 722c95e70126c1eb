CREATE TABLE `vm_allocations` (
	`owner` text PRIMARY KEY NOT NULL,
	`vcpus` integer NOT NULL,
	`memory_mib` integer NOT NULL,
	`vm_count` integer NOT NULL
);
--> statement-breakpoint
-- The counters start as what the VMs add up to now.
INSERT INTO `vm_allocations` (owner, vcpus, memory_mib, vm_count)
  SELECT 'host:' || host_id, sum(vcpus), sum(memory_mib), count(*) FROM vms GROUP BY host_id
  UNION ALL
  SELECT 'tenant:' || tenant_id, sum(vcpus), sum(memory_mib), count(*) FROM vms GROUP BY tenant_id;
--> statement-breakpoint
-- Every change to a VM's size or place moves the counters in the same statement.
CREATE TRIGGER `vm_allocations_insert` AFTER INSERT ON `vms`
BEGIN
  INSERT INTO vm_allocations (owner, vcpus, memory_mib, vm_count) VALUES ('host:' || NEW.host_id, NEW.vcpus, NEW.memory_mib, 1), ('tenant:' || NEW.tenant_id, NEW.vcpus, NEW.memory_mib, 1)
    ON CONFLICT (owner) DO UPDATE SET vcpus = vcpus + excluded.vcpus, memory_mib = memory_mib + excluded.memory_mib, vm_count = vm_count + 1;
END;
--> statement-breakpoint
CREATE TRIGGER `vm_allocations_delete` AFTER DELETE ON `vms`
BEGIN
  UPDATE vm_allocations SET vcpus = vcpus - OLD.vcpus, memory_mib = memory_mib - OLD.memory_mib, vm_count = vm_count - 1 WHERE owner IN ('host:' || OLD.host_id, 'tenant:' || OLD.tenant_id);
END;
--> statement-breakpoint
CREATE TRIGGER `vm_allocations_update` AFTER UPDATE OF vcpus, memory_mib, host_id, tenant_id ON `vms`
BEGIN
  UPDATE vm_allocations SET vcpus = vcpus - OLD.vcpus, memory_mib = memory_mib - OLD.memory_mib, vm_count = vm_count - 1 WHERE owner IN ('host:' || OLD.host_id, 'tenant:' || OLD.tenant_id);
  INSERT INTO vm_allocations (owner, vcpus, memory_mib, vm_count) VALUES ('host:' || NEW.host_id, NEW.vcpus, NEW.memory_mib, 1), ('tenant:' || NEW.tenant_id, NEW.vcpus, NEW.memory_mib, 1)
    ON CONFLICT (owner) DO UPDATE SET vcpus = vcpus + excluded.vcpus, memory_mib = memory_mib + excluded.memory_mib, vm_count = vm_count + 1;
END;
