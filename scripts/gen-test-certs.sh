#!/usr/bin/env bash
# Generates the TEST-ONLY TLS fixtures in spec/fixtures/tls/.
#
#   bash scripts/gen-test-certs.sh          # create whatever is missing (no-op when complete)
#   bash scripts/gen-test-certs.sh --force  # throw everything away and regenerate
#
# Idempotent: when every fixture already exists and the set is consistent
# (server/client/expired/wronghost verify against ca.pem) nothing is touched,
# so the committed files stay byte-for-byte the same. If anything is missing
# or inconsistent, the whole set is regenerated (a new CA invalidates every leaf).
#
# Needs only the openssl CLI (1.1.1 or 3.x); `node` is used, if present, to
# check that Node's OpenSSL can load client.pfx.
set -euo pipefail

cd "$(dirname "$0")/.."
OUT="spec/fixtures/tls"
PASS="fixture-pass"
DAYS=7300 # ~20 years

FILES=(
  ca.pem ca.key
  server.pem server.key
  expired.pem expired.key
  wronghost.pem wronghost.key
  selfsigned.pem selfsigned.key
  client.pem client.key client-encrypted.key client.pfx
)

force=0
case "${1:-}" in
  --force|-f) force=1 ;;
  "") ;;
  *) echo "usage: $0 [--force]" >&2; exit 2 ;;
esac

mkdir -p "$OUT"

complete() {
  local f
  for f in "${FILES[@]}"; do
    [[ -s "$OUT/$f" ]] || return 1
  done
  openssl verify -CAfile "$OUT/ca.pem" "$OUT/server.pem" "$OUT/client.pem" "$OUT/wronghost.pem" >/dev/null 2>&1 || return 1
  # expired.pem must chain to ca.pem but be outside its validity window.
  openssl verify -no_check_time -CAfile "$OUT/ca.pem" "$OUT/expired.pem" >/dev/null 2>&1 || return 1
  return 0
}

if [[ $force -eq 0 ]] && complete; then
  echo "gen-test-certs: fixtures in $OUT are complete; nothing to do (use --force to regenerate)"
  exit 0
fi

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

newkey() { # $1 = output key file (unencrypted PKCS#8 RSA 2048)
  openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$1" 2>/dev/null
}

# ---------------------------------------------------------------- CA
newkey "$WORK/ca.key"
openssl req -x509 -new -key "$WORK/ca.key" -sha256 -days "$DAYS" \
  -subj "/O=smtpkit tests/CN=smtpkit test CA" \
  -addext "basicConstraints=critical,CA:TRUE" \
  -addext "keyUsage=critical,keyCertSign,cRLSign" \
  -addext "subjectKeyIdentifier=hash" \
  -out "$WORK/ca.pem"

# Signs $WORK/$1.csr with the CA using the extension section in $WORK/$1.ext.
sign() {
  local name="$1"
  openssl x509 -req -in "$WORK/$name.csr" -CA "$WORK/ca.pem" -CAkey "$WORK/ca.key" \
    -CAcreateserial -CAserial "$WORK/ca.srl" -sha256 -days "$DAYS" \
    -extfile "$WORK/$name.ext" -extensions ext -out "$WORK/$name.pem" 2>/dev/null
}

# ---------------------------------------------------------------- server (localhost)
newkey "$WORK/server.key"
openssl req -new -key "$WORK/server.key" -subj "/O=smtpkit tests/CN=localhost" -out "$WORK/server.csr"
cat >"$WORK/server.ext" <<'EOF'
[ext]
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
EOF
sign server

# ---------------------------------------------------------------- wronghost
newkey "$WORK/wronghost.key"
openssl req -new -key "$WORK/wronghost.key" -subj "/O=smtpkit tests/CN=wrong.example.test" -out "$WORK/wronghost.csr"
cat >"$WORK/wronghost.ext" <<'EOF'
[ext]
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=DNS:wrong.example.test
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
EOF
sign wronghost

# ---------------------------------------------------------------- client (clientAuth)
newkey "$WORK/client.key"
openssl req -new -key "$WORK/client.key" -subj "/O=smtpkit tests/CN=smtpkit test client" -out "$WORK/client.csr"
cat >"$WORK/client.ext" <<'EOF'
[ext]
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
EOF
sign client
# Same key, encrypted (PKCS#8, AES-256-CBC) with the fixture passphrase.
openssl pkey -in "$WORK/client.key" -aes-256-cbc -passout "pass:$PASS" -out "$WORK/client-encrypted.key"
# PKCS#12 with OpenSSL 3 defaults (AES-256-CBC + PBKDF2, SHA-256 MAC): Node 20 reads it, no -legacy.
openssl pkcs12 -export -in "$WORK/client.pem" -inkey "$WORK/client.key" -certfile "$WORK/ca.pem" \
  -name "smtpkit test client" -passout "pass:$PASS" -out "$WORK/client.pfx"

# ---------------------------------------------------------------- expired (validity entirely in the past)
# `openssl x509` (3.0) cannot set notBefore, so use `openssl ca` with a throwaway config.
newkey "$WORK/expired.key"
openssl req -new -key "$WORK/expired.key" -subj "/O=smtpkit tests/CN=localhost" -out "$WORK/expired.csr"
mkdir -p "$WORK/ca-db/newcerts"
: >"$WORK/ca-db/index.txt"
echo 1000 >"$WORK/ca-db/serial"
cat >"$WORK/ca-db/ca.cnf" <<EOF
[ca]
default_ca = testca
[testca]
dir             = $WORK/ca-db
database        = \$dir/index.txt
new_certs_dir   = \$dir/newcerts
serial          = \$dir/serial
certificate     = $WORK/ca.pem
private_key     = $WORK/ca.key
default_md      = sha256
policy          = policy_any
unique_subject  = no
copy_extensions = none
email_in_dn     = no
x509_extensions = ext
[policy_any]
organizationName = optional
commonName       = supplied
[ext]
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
EOF
openssl ca -batch -notext -config "$WORK/ca-db/ca.cnf" \
  -startdate 20000101000000Z -enddate 20010101000000Z \
  -in "$WORK/expired.csr" -out "$WORK/expired.pem" 2>/dev/null

# ---------------------------------------------------------------- self-signed (localhost)
newkey "$WORK/selfsigned.key"
openssl req -x509 -new -key "$WORK/selfsigned.key" -sha256 -days "$DAYS" \
  -subj "/O=smtpkit tests/CN=localhost" \
  -addext "basicConstraints=critical,CA:FALSE" \
  -addext "keyUsage=critical,digitalSignature,keyEncipherment" \
  -addext "extendedKeyUsage=serverAuth" \
  -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
  -out "$WORK/selfsigned.pem"

# ---------------------------------------------------------------- checks
openssl verify -CAfile "$WORK/ca.pem" "$WORK/server.pem" "$WORK/client.pem" "$WORK/wronghost.pem" >/dev/null
if openssl verify -CAfile "$WORK/ca.pem" "$WORK/expired.pem" >/dev/null 2>&1; then
  echo "gen-test-certs: expired.pem unexpectedly verifies" >&2
  exit 1
fi
openssl verify -no_check_time -CAfile "$WORK/ca.pem" "$WORK/expired.pem" >/dev/null
if command -v node >/dev/null 2>&1; then
  node -e '
    const fs = require("node:fs"), tls = require("node:tls");
    const [pfx, key] = process.argv.slice(1);
    tls.createSecureContext({ pfx: fs.readFileSync(pfx), passphrase: "'"$PASS"'" });
    tls.createSecureContext({ key: fs.readFileSync(key), passphrase: "'"$PASS"'", cert: fs.readFileSync(pfx.replace(/\.pfx$/, ".pem")) });
  ' "$WORK/client.pfx" "$WORK/client-encrypted.key"
fi

for f in "${FILES[@]}"; do
  cp "$WORK/$f" "$OUT/$f"
done
chmod 644 "$OUT"/*
echo "gen-test-certs: wrote ${#FILES[@]} files to $OUT"
