/** Time is injected: handlers take a Clock, tests pass a fixed or stepping one. */
export interface Clock {
  now(): Date;
}
export const systemClock: Clock = { now: () => new Date() };
