// Structured JSON logs (pino). Redaction is a second line of defence: no code path logs credentials on purpose,
// but any field that could carry one is censored anyway.
import { pino, type Logger } from 'pino';

export type { Logger };

/** The one logging interface modules take: pino's Logger satisfies it, and tests pass plain objects. */
export interface Log {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

const REDACT = [
  '*.accessKeySecret',
  '*.accessKeyId',
  '*.securityToken',
  '*.AccessKeySecret',
  '*.SecurityToken',
  '*.authorization',
  '*.Authorization',
  'accessKeySecret',
  'securityToken',
  'credentials.accessKeySecret',
];

export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  const options = {
    level,
    base: { component: 'imageshare-operator' },
    redact: { paths: REDACT, censor: '[redacted]' },
  };
  return destination ? pino(options, destination as pino.DestinationStream) : pino(options);
}
