#!/usr/bin/env bash
# Generates the TEST-ONLY S/MIME fixtures in spec/fixtures/smime/, issued by the
# test CA in spec/fixtures/tls/ (run scripts/gen-test-certs.sh first).
#
#   bash scripts/gen-smime-certs.sh          # create whatever is missing (no-op when complete)
#   bash scripts/gen-smime-certs.sh --force  # throw everything away and regenerate
#
# The TLS client certificate cannot be used for S/MIME: its EKU is clientAuth
# only, and `openssl smime|cms -verify` checks the smimesign purpose, which
# needs emailProtection. Hence separate certificates with emailProtection and
# an rfc822Name SAN.
#
# Idempotent: when every file exists and the leaves verify against the current
# tls/ca.pem, nothing is touched. Otherwise the whole set is regenerated.
set -euo pipefail

cd "$(dirname "$0")/.."
CA_DIR="spec/fixtures/tls"
OUT="spec/fixtures/smime"
PASS="fixture-pass"
DAYS=7300 # ~20 years

FILES=(
  signer.pem signer.key signer-encrypted.key signer-traditional.key signer.pfx signer-3des.pfx
  recipient.pem recipient.key
  intermediate.pem intermediate.key chained.pem chained.key
  ec-signer.pem ec-signer.key
)

force=0
case "${1:-}" in
  --force|-f) force=1 ;;
  "") ;;
  *) echo "usage: $0 [--force]" >&2; exit 2 ;;
esac

for f in ca.pem ca.key; do
  [[ -s "$CA_DIR/$f" ]] || { echo "gen-smime-certs: $CA_DIR/$f is missing; run scripts/gen-test-certs.sh first" >&2; exit 1; }
done
mkdir -p "$OUT"

complete() {
  local f
  for f in "${FILES[@]}"; do
    [[ -s "$OUT/$f" ]] || return 1
  done
  openssl verify -purpose smimesign -CAfile "$CA_DIR/ca.pem" \
    "$OUT/signer.pem" "$OUT/recipient.pem" "$OUT/ec-signer.pem" >/dev/null 2>&1 || return 1
  openssl verify -purpose smimesign -CAfile "$CA_DIR/ca.pem" -untrusted "$OUT/intermediate.pem" \
    "$OUT/chained.pem" >/dev/null 2>&1 || return 1
  return 0
}

if [[ $force -eq 0 ]] && complete; then
  echo "gen-smime-certs: fixtures in $OUT are complete; nothing to do (use --force to regenerate)"
  exit 0
fi

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

rsakey() { openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$1" 2>/dev/null; }

# issue NAME ISSUER_CERT ISSUER_KEY SUBJECT: signs $WORK/NAME.key with the
# extension section in $WORK/NAME.ext.
issue() {
  local name="$1" icert="$2" ikey="$3" subj="$4"
  openssl req -new -key "$WORK/$name.key" -subj "$subj" -out "$WORK/$name.csr"
  openssl x509 -req -in "$WORK/$name.csr" -CA "$icert" -CAkey "$ikey" \
    -set_serial "0x$(openssl rand -hex 12)" -sha256 -days "$DAYS" \
    -extfile "$WORK/$name.ext" -extensions ext -out "$WORK/$name.pem" 2>/dev/null
}

leafext() { # $1 = name, $2 = email
  cat >"$WORK/$1.ext" <<EXT
[ext]
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,nonRepudiation,keyEncipherment
extendedKeyUsage=emailProtection
subjectAltName=email:$2
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
EXT
}

# ---------------------------------------------------------------- signer (RSA, directly under the CA)
rsakey "$WORK/signer.key"
leafext signer signer@example.test
issue signer "$CA_DIR/ca.pem" "$CA_DIR/ca.key" "/O=smtpkit tests/CN=smtpkit smime signer"
# PKCS#8 encrypted (AES-256-CBC, PBKDF2) and traditional PEM encryption (Proc-Type / DEK-Info).
openssl pkey -in "$WORK/signer.key" -aes-256-cbc -passout "pass:$PASS" -out "$WORK/signer-encrypted.key"
openssl rsa -in "$WORK/signer.key" -traditional -aes256 -passout "pass:$PASS" -out "$WORK/signer-traditional.key" 2>/dev/null
# PKCS#12 with OpenSSL 3 defaults (PBES2/PBKDF2/AES-256-CBC, SHA-256 MAC) ...
openssl pkcs12 -export -in "$WORK/signer.pem" -inkey "$WORK/signer.key" -certfile "$CA_DIR/ca.pem" \
  -name "smtpkit smime signer" -passout "pass:$PASS" -out "$WORK/signer.pfx"
# ... and as older Windows exports it (pbeWithSHAAnd3-KeyTripleDES-CBC everywhere, SHA-1 MAC).
openssl pkcs12 -export -in "$WORK/signer.pem" -inkey "$WORK/signer.key" -certfile "$CA_DIR/ca.pem" \
  -name "smtpkit smime signer" -certpbe PBE-SHA1-3DES -keypbe PBE-SHA1-3DES -macalg sha1 \
  -passout "pass:$PASS" -out "$WORK/signer-3des.pfx"

# ---------------------------------------------------------------- recipient (RSA)
rsakey "$WORK/recipient.key"
leafext recipient recipient@example.test
issue recipient "$CA_DIR/ca.pem" "$CA_DIR/ca.key" "/O=smtpkit tests/CN=smtpkit smime recipient"

# ---------------------------------------------------------------- intermediate CA + leaf under it
rsakey "$WORK/intermediate.key"
cat >"$WORK/intermediate.ext" <<'EXT'
[ext]
basicConstraints=critical,CA:TRUE,pathlen:0
keyUsage=critical,keyCertSign,cRLSign
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
EXT
issue intermediate "$CA_DIR/ca.pem" "$CA_DIR/ca.key" "/O=smtpkit tests/CN=smtpkit test intermediate CA"
rsakey "$WORK/chained.key"
leafext chained chained@example.test
issue chained "$WORK/intermediate.pem" "$WORK/intermediate.key" "/O=smtpkit tests/CN=smtpkit smime chained signer"

# ---------------------------------------------------------------- EC (P-256) signer
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$WORK/ec-signer.key" 2>/dev/null
cat >"$WORK/ec-signer.ext" <<'EXT'
[ext]
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,nonRepudiation
extendedKeyUsage=emailProtection
subjectAltName=email:ec-signer@example.test
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
EXT
issue ec-signer "$CA_DIR/ca.pem" "$CA_DIR/ca.key" "/O=smtpkit tests/CN=smtpkit smime EC signer"

# ---------------------------------------------------------------- checks
openssl verify -purpose smimesign -CAfile "$CA_DIR/ca.pem" "$WORK/signer.pem" "$WORK/recipient.pem" "$WORK/ec-signer.pem" >/dev/null
openssl verify -purpose smimesign -CAfile "$CA_DIR/ca.pem" -untrusted "$WORK/intermediate.pem" "$WORK/chained.pem" >/dev/null
openssl pkcs12 -in "$WORK/signer.pfx" -passin "pass:$PASS" -noout
openssl pkcs12 -in "$WORK/signer-3des.pfx" -passin "pass:$PASS" -noout

for f in "${FILES[@]}"; do
  cp "$WORK/$f" "$OUT/$f"
done
chmod 644 "$OUT"/*
echo "gen-smime-certs: wrote ${#FILES[@]} files to $OUT"
