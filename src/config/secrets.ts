import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export type Env = Readonly<Record<string, string | undefined>>;

export interface SecretSources {
  readonly env: Env;
  /** Folder of Docker secrets, one file per lowercase variable name. Default `/run/secrets`. */
  readonly secretsDir: string;
}

export type SecretLookup = { readonly value: string | undefined } | { readonly error: string };

function readSecretFile(path: string): string | null {
  try {
    // Secret files conventionally end with a newline that is not part of the secret.
    return readFileSync(path, 'utf8').replace(/\r?\n$/, '');
  } catch {
    return null;
  }
}

/**
 * A secret from `NAME`, else the file named by `NAME_FILE`, else `/run/secrets/<name>`.
 * A `NAME_FILE` that cannot be read is an error; a missing Docker secret is simply absent.
 */
export function readSecret(name: string, sources: SecretSources): SecretLookup {
  const direct = sources.env[name];
  if (direct !== undefined && direct !== '') return { value: direct };
  const filePath = sources.env[`${name}_FILE`];
  if (filePath !== undefined && filePath !== '') {
    const content = readSecretFile(filePath);
    return content === null ? { error: `${name}_FILE: cannot read ${filePath}` } : { value: content };
  }
  const dockerSecret = readSecretFile(join(sources.secretsDir, name.toLowerCase()));
  return { value: dockerSecret ?? undefined };
}
