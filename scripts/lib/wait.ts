/**
 * Polls `check` until it holds. Fails after `timeoutMs` with what was awaited (and `hint`, e.g. where
 * the logs are), so a stuck demo or test says what it was waiting for.
 */
export async function waitFor(
  what: string,
  check: () => Promise<boolean>,
  { timeoutMs = 120_000, intervalMs = 150, hint }: { timeoutMs?: number; intervalMs?: number; hint?: string } = {},
): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}${hint ? `; ${hint}` : ""}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
