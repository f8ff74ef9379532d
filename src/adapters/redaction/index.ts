export { createRedactor, detect, placeholder } from './redactor.js';
export type { RedactorOptions } from './redactor.js';
