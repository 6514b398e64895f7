// The operator's own keys from a mounted Secret (--credentials-dir: files accessKeyId, accessKeySecret and optionally
// securityToken), re-read at most every ttlMs, so a rotated Secret takes effect without a restart once the kubelet has
// swapped the files (docs/security.md). Objects without spec.credentials then use these keys instead of the chain.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CloudCredentials, ImageSharingFactory } from '../../cloud/port.ts';
import type { Log } from '../../runtime/logger.ts';

export interface FileCredentialsOptions {
  ttlMs?: number;
  now?: () => number;
  log: Pick<Log, 'warn' | 'info'>;
}

/** Reads the key files; a missing or empty required file is an error naming the file (never its content). */
function readKeys(dir: string): CloudCredentials {
  const read = (name: string, optional = false): string | undefined => {
    try {
      const v = readFileSync(join(dir, name), 'utf8').trim();
      if (v !== '' || optional) return v === '' ? undefined : v;
    } catch (err: unknown) {
      if (optional && (err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new Error(`cannot read ${join(dir, name)}`, { cause: err });
    }
    throw new Error(`${join(dir, name)} is empty`);
  };
  const accessKeyId = read('accessKeyId') as string;
  const accessKeySecret = read('accessKeySecret') as string;
  const securityToken = read('securityToken', true);
  return { type: 'static', accessKeyId, accessKeySecret, ...(securityToken === undefined ? {} : { securityToken }) };
}

export class FileCredentials {
  readonly #dir: string;
  readonly #o: FileCredentialsOptions;
  #cached: { at: number; value: CloudCredentials } | undefined;

  /** Throws when the files cannot be read at start (a bad mount should stop the operator, not every pass). */
  constructor(dir: string, options: FileCredentialsOptions) {
    this.#dir = dir;
    this.#o = options;
    this.#cached = { at: this.#now(), value: readKeys(dir) };
  }

  #now(): number {
    return (this.#o.now ?? Date.now)();
  }

  /** The current keys; when a re-read fails, the last good keys (logged once per failure streak). */
  current(): CloudCredentials {
    const cached = this.#cached;
    if (cached !== undefined && this.#now() - cached.at < (this.#o.ttlMs ?? 5_000)) return cached.value;
    try {
      const value = readKeys(this.#dir);
      if (cached?.value.type === 'static' && value.type === 'static' && cached.value.accessKeyId !== value.accessKeyId)
        this.#o.log.info({ dir: this.#dir }, "the operator's own access key changed; using the new one");
      this.#cached = { at: this.#now(), value };
      return value;
    } catch (err: unknown) {
      this.#o.log.warn(
        { dir: this.#dir, err: err instanceof Error ? err.message : String(err) },
        "could not re-read the operator's own keys; keeping the last ones",
      );
      if (cached === undefined) throw err;
      this.#cached = { at: this.#now(), value: cached.value };
      return cached.value;
    }
  }
}

/** A factory whose default identity (objects without spec.credentials) is the keys `files` holds now. */
export function withOperatorKeys(factory: ImageSharingFactory, files: FileCredentials): ImageSharingFactory {
  return { forCredentials: (c) => factory.forCredentials(c.type === 'default' ? files.current() : c) };
}
