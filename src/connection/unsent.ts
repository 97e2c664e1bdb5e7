/**
 * Errors that failed attempts before any byte of them was written (the connect failed while they
 * waited for it): sending such an attempt again cannot run its command twice, whatever the command.
 * Kept beside the error, not in it: one error fails every attempt that waited, and it is public.
 */
const unsent = new WeakSet<object>();

/** Marks `error` as one that failed only attempts never written. Returns it. */
export function markUnsent<E extends object>(error: E): E {
  unsent.add(error);
  return error;
}

/** Whether `error` failed an attempt that never reached the wire (see {@link markUnsent}). */
export function neverSent(error: unknown): boolean {
  return typeof error === "object" && error !== null && unsent.has(error);
}
