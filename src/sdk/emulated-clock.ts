/**
 * Following an emulator's moved clock (`custodes emulator clock …`): a token
 * minted on this machine's clock is refused for its time alone, and the
 * server's `/v1/info` says its clock was moved and what it reads. The SDK's
 * client and the console both mint on the server's clock from then on.
 */

/** Problem codes of a token refused for its time alone. */
const CLOCK_REFUSALS = new Set(['token_expired', 'token_not_yet_valid']);

/** Whether `response` refused its token for its time alone (the response itself is left unread). */
export async function refusedForItsTime(response: Response): Promise<boolean> {
  if (response.status !== 401) return false;
  const problem = (await response
    .clone()
    .json()
    .catch(() => null)) as { code?: string } | null;
  return CLOCK_REFUSALS.has(problem?.code ?? '');
}

/** How far the emulator at `url`'s origin reads from this machine's clock, when it says its clock was moved; else null. */
export async function emulatedClockOffset(fetchImpl: typeof fetch, url: string): Promise<number | null> {
  try {
    const info = (await (await fetchImpl(new URL('/v1/info', url))).json()) as { time?: string; emulator?: { clock?: { emulated?: boolean } } | null };
    return info.emulator?.clock?.emulated && info.time ? Date.parse(info.time) - Date.now() : null;
  } catch {
    return null;
  }
}
