// The retry state a payload carries, apart from the retry options so that job.ts can read it
// without importing retry.ts (which needs job.ts's handler type).

/** What a retried payload carries (`baton_retry`): the attempt it runs as, and every earlier attempt's error. */
export interface RetryState {
  attempt: number;
  errors: Array<{ at: string; exception: string; error: string }>;
}

/** The retry state a payload carries (`baton_retry`); attempt 1 for a first run. */
export function retryStateOf(payload: Record<string, unknown> | undefined): RetryState {
  const s = payload?.baton_retry as Partial<RetryState> | undefined;
  const attempt = typeof s?.attempt === 'number' && Number.isInteger(s.attempt) && s.attempt > 1 ? s.attempt : 1;
  return { attempt, errors: Array.isArray(s?.errors) ? s.errors : [] };
}
