/** The structured logger every component receives. Never log raw user text or secrets. */
export type { Logger } from 'pino';
