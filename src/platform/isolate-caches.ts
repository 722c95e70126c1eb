/**
 * The isolate's caches of D1 state (registered keys, which tenant owns what,
 * whether the signing key is registered). Each registers how to forget
 * itself, so that the emulator's reset (src/emulator) empties them along
 * with the tables they mirror: a cache must never outlive its source.
 */
const clearers = new Set<() => void>();

export function registerIsolateCache(clear: () => void): void {
  clearers.add(clear);
}

export function clearIsolateCaches(): void {
  for (const clear of clearers) clear();
}
