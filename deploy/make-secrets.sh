#!/usr/bin/env bash
# Writes the secrets of the reference deployment (docker-compose.yml) into deploy/secrets/:
# random passwords for Redis and Postgres, a bootstrap API key, the connection URLs that carry
# those passwords, and a private CA with a server certificate for Postgres TLS.
#
#   deploy/make-secrets.sh [--force] [DIR]   write the secrets (DIR defaults to deploy/secrets)
#   deploy/make-secrets.sh --list            print the file names it writes, one a line
#
# It refuses to overwrite existing secrets unless --force is given: Postgres keeps the password it
# was first started with in its volume, so a new password needs a new volume (or ALTER ROLE).
set -euo pipefail

readonly SECRET_FILES=(
  redis_password
  postgres_password
  engram_api_key
  database_url
  redis_url
  postgres_ca_crt
  postgres_server_crt
  postgres_server_key
)

# The Compose service names: the server certificate must name the host the clients dial.
readonly POSTGRES_HOST=postgres
readonly POSTGRES_USER=engram
readonly POSTGRES_DB=engram
readonly REDIS_HOST=redis
readonly CERT_DAYS=825

usage() {
  sed -n '2,10s/^# \{0,1\}//p' "$0" >&2
  exit 2
}

force=0
dir=""
while [ "$#" -gt 0 ]; do
  case "$1" in
    --list)
      printf '%s\n' "${SECRET_FILES[@]}"
      exit 0
      ;;
    --force) force=1 ;;
    -h | --help) usage ;;
    -*) usage ;;
    *)
      [ -z "$dir" ] || usage
      dir="$1"
      ;;
  esac
  shift
done
dir="${dir:-$(cd "$(dirname "$0")" && pwd)/secrets}"

command -v openssl >/dev/null || {
  echo "make-secrets: openssl is needed" >&2
  exit 1
}

if [ "$force" -eq 0 ]; then
  for name in "${SECRET_FILES[@]}"; do
    if [ -e "$dir/$name" ]; then
      echo "make-secrets: $dir/$name exists; use --force to replace every secret (see deploy/README.md)" >&2
      exit 1
    fi
  done
fi

umask 077
mkdir -p "$dir"
chmod 700 "$dir"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# Hex keeps the passwords safe to embed in URLs without escaping.
random_hex() { openssl rand -hex "$1"; }

write_secret() {
  printf '%s' "$2" >"$dir/$1"
}

redis_password="$(random_hex 32)"
postgres_password="$(random_hex 32)"

write_secret redis_password "$redis_password"
write_secret postgres_password "$postgres_password"
write_secret engram_api_key "engram_$(random_hex 32)"
# verify-full: the client checks that the certificate was issued by our CA *and* names the host.
write_secret database_url "postgres://${POSTGRES_USER}:${postgres_password}@${POSTGRES_HOST}:5432/${POSTGRES_DB}?sslmode=verify-full&sslrootcert=/run/secrets/postgres_ca_crt"
write_secret redis_url "redis://:${redis_password}@${REDIS_HOST}:6379"

# A CA of this deployment alone. Its key signs the server certificate and is then thrown away,
# so nothing else can ever be signed with it; rerun the script to rotate.
openssl req -x509 -new -nodes -newkey rsa:3072 -sha256 -days "$CERT_DAYS" \
  -keyout "$work/ca.key" -out "$dir/postgres_ca_crt" \
  -subj "/CN=Engram Postgres CA" \
  -addext "basicConstraints=critical,CA:TRUE" \
  -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null

openssl req -new -nodes -newkey rsa:3072 -sha256 \
  -keyout "$dir/postgres_server_key" -out "$work/server.csr" \
  -subj "/CN=${POSTGRES_HOST}" 2>/dev/null

cat >"$work/server.ext" <<EOF
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=DNS:${POSTGRES_HOST}
EOF

openssl x509 -req -sha256 -days "$CERT_DAYS" \
  -in "$work/server.csr" -CA "$dir/postgres_ca_crt" -CAkey "$work/ca.key" -CAcreateserial \
  -extfile "$work/server.ext" -out "$dir/postgres_server_crt" 2>/dev/null

# Compose mounts file secrets as they are on the host, and the Engram containers run as uid 1000,
# so the files are readable by all while the folder (0700) keeps other host users out. Postgres
# gets its own 0600 copy of the key when it starts (see docker-compose.yml).
for name in "${SECRET_FILES[@]}"; do
  chmod 644 "$dir/$name"
done

echo "make-secrets: wrote ${#SECRET_FILES[@]} secrets to $dir"
