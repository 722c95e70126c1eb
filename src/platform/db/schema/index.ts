/**
 * The D1 schema. Capacity figures (a host's allocation, a tenant's usage) are
 * derived from `vms` with SUM() rather than stored as counters: a counter is
 * one more thing a concurrent writer can get wrong, and the guarded INSERT /
 * UPDATE statements in the services re-derive them atomically anyway.
 *
 * Every mutable resource carries `revision`, bumped on each write; it is the
 * ETag and the guard for optimistic concurrency (`WHERE revision = ?`).
 *
 * One file per part of the system; drizzle-kit reads them all through this one.
 */
export * from './provider';
export * from './tenant';
export * from './recovery';
export * from './governance';
export * from './audit';
export * from './platform';
export * from './emulator';
