import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export type Env = Readonly<Record<string, string | undefined>>;

export interface SecretSources {
  readonly env: Env;
  /** Folder of Docker secrets, one file per lowercase variable name. Default `/run/secrets`. */
  readonly secretsDir: string;
}

export type SecretLookup = { readonly value: string | undefined } | { readonly error: string };

type SecretFile = { readonly content: string } | { readonly missing: true } | { readonly unreadable: string };

function readSecretFile(path: string): SecretFile {
  try {
    // Secret files conventionally end with a newline that is not part of the secret.
    return { content: readFileSync(path, 'utf8').replace(/\r?\n$/, '') };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code === 'ENOENT' || code === 'ENOTDIR' ? { missing: true } : { unreadable: code ?? 'unknown error' };
  }
}

/**
 * A secret from `NAME`, else the file named by `NAME_FILE`, else `/run/secrets/<name>`.
 * A `NAME_FILE` that cannot be read is an error; a missing Docker secret is simply absent, but one
 * that is there and cannot be read (its permissions, a folder) is an error too: taken for absent,
 * a database URL would leave the process on an embedded store of its own.
 */
export function readSecret(name: string, sources: SecretSources): SecretLookup {
  const direct = sources.env[name];
  if (direct !== undefined && direct !== '') return { value: direct };
  const filePath = sources.env[`${name}_FILE`];
  if (filePath !== undefined && filePath !== '') {
    const file = readSecretFile(filePath);
    return 'content' in file ? { value: file.content } : { error: `${name}_FILE: cannot read ${filePath}` };
  }
  const dockerSecretPath = join(sources.secretsDir, name.toLowerCase());
  const dockerSecret = readSecretFile(dockerSecretPath);
  if ('content' in dockerSecret) return { value: dockerSecret.content };
  if ('missing' in dockerSecret) return { value: undefined };
  return { error: `${name}: cannot read the secret ${dockerSecretPath} (${dockerSecret.unreadable})` };
}
