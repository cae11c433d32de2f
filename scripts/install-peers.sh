#!/usr/bin/env bash
# Installs the Debian packages the integration specs use as real SMTP peers:
#   postfix           smtpd with Cyrus SASL (spec/support/peers/postfix-sasl.ts)
#   sasl2-bin         saslpasswd2, to fill a private sasldb2
#   libsasl2-modules  the PLAIN/LOGIN/CRAM-MD5/DIGEST-MD5/NTLM/SCRAM mechanisms
#   python3-aiosmtpd  aiosmtpd for /usr/bin/python3 (spec/support/peers/aiosmtpd-peer.py)
#   microsocks        SOCKS5 proxy (spec/support/proxies.ts, spec/integration/proxy.spec.ts)
#   tinyproxy         HTTP CONNECT proxy (spec/support/proxies.ts, spec/integration/proxy.spec.ts)
#   redis-server      private Redis instances for the BullMQ outbox (spec/support/peers/redis.ts)
#   openssl           the CLI that checks S/MIME independently (spec/integration/smime.spec.ts), with
#                     its legacy provider (RC2 PKCS#12): part of libssl3 up to Debian 12, the package
#                     openssl-provider-legacy from Debian 13 on (installed when apt knows it)
#
# Fast no-op (one line, exit 0) when everything is present. Otherwise installs
# with apt-get when running as root or with passwordless sudo; else names the
# packages and exits 1. Never starts or configures a system mail service:
# postfix is pre-seeded with "No configuration" and the tests run private
# instances from temporary directories; likewise the proxies run as private
# processes, and the tinyproxy and redis-server system services that the
# packages start are stopped and disabled again (Redis runs per test from a
# temp dir on a port picked at run time).
set -euo pipefail

PACKAGES=(postfix sasl2-bin libsasl2-modules python3-aiosmtpd microsocks tinyproxy redis-server openssl)
LEGACY_PACKAGE=openssl-provider-legacy
sasl_dir() { # Cyrus SASL plugin directory (multiarch; x86_64 on CI)
  local d
  for d in /usr/lib/x86_64-linux-gnu/sasl2 /usr/lib/*-linux-gnu*/sasl2 /usr/lib/sasl2; do
    [[ -e "$d/libplain.so" ]] && { echo "$d"; return; }
  done
  echo /usr/lib/x86_64-linux-gnu/sasl2
}
SASL_DIR="$(sasl_dir)"

missing() {
  local what=()
  [[ -x /usr/sbin/postfix ]] || what+=("/usr/sbin/postfix")
  [[ -x /usr/lib/postfix/sbin/smtpd ]] || what+=("/usr/lib/postfix/sbin/smtpd")
  [[ -x /usr/sbin/saslpasswd2 ]] || what+=("/usr/sbin/saslpasswd2")
  local m
  for m in libplain liblogin libcrammd5 libdigestmd5 libntlm libscram libsasldb; do
    [[ -e "$SASL_DIR/$m.so" ]] || what+=("$SASL_DIR/$m.so")
  done
  if [[ ! -x /usr/bin/python3 ]] || ! /usr/bin/python3 -c 'import aiosmtpd' >/dev/null 2>&1; then
    what+=("aiosmtpd for /usr/bin/python3")
  fi
  [[ -x /usr/bin/microsocks ]] || what+=("/usr/bin/microsocks")
  [[ -x /usr/bin/tinyproxy ]] || what+=("/usr/bin/tinyproxy")
  [[ -x /usr/bin/redis-server ]] || what+=("/usr/bin/redis-server")
  if ! command -v openssl >/dev/null 2>&1; then
    what+=("openssl")
  elif ! openssl list -providers -provider legacy >/dev/null 2>&1; then
    what+=("the OpenSSL legacy provider (openssl list -providers -provider legacy)")
  fi
  printf '%s\n' "${what[@]}"
}

need="$(missing)"
if [[ -z "$need" ]]; then
  echo "install-peers: test peers present (${PACKAGES[*]})"
  exit 0
fi

echo "install-peers: missing:"
sed 's/^/  - /' <<<"$need"

SUDO=()
if [[ "$(id -u)" -ne 0 ]]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true >/dev/null 2>&1; then
    SUDO=(sudo -n)
  else
    echo "install-peers: not root and no passwordless sudo; install these Debian packages, then re-run:" >&2
    echo "  apt-get install -y --no-install-recommends ${PACKAGES[*]}" >&2
    exit 1
  fi
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-peers: apt-get not found; install the Debian packages: ${PACKAGES[*]}" >&2
  exit 1
fi

# Keep postfix unconfigured: no /etc/postfix/main.cf, no system mail service.
"${SUDO[@]}" debconf-set-selections <<'EOF'
postfix postfix/main_mailer_type select No configuration
postfix postfix/mailname string localhost
EOF

export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
  -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${PACKAGES[@]}"
# Debian 13 ships the legacy provider on its own; before, libssl3 has it.
if ! openssl list -providers -provider legacy >/dev/null 2>&1 && apt-cache show "$LEGACY_PACKAGE" >/dev/null 2>&1; then
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$LEGACY_PACKAGE"
fi

# The tests run their own tinyproxy and redis-server; the system services the packages may have started are not wanted.
if command -v systemctl >/dev/null 2>&1 && [[ -d /run/systemd/system ]]; then
  "${SUDO[@]}" systemctl disable --now tinyproxy >/dev/null 2>&1 || true
  "${SUDO[@]}" systemctl disable --now redis-server >/dev/null 2>&1 || true
fi
# Without systemd the package's init script starts redis-server on 127.0.0.1:6379: stop that one
# through the init script (it stops only the PID in its pidfile, no other redis-server).
system_redis_listening() {
  if command -v ss >/dev/null 2>&1; then
    "${SUDO[@]}" ss -Hltnp 'sport = :6379' 2>/dev/null | grep -q '"redis-server"'
  else
    [[ -s /run/redis/redis-server.pid ]] && kill -0 "$(cat /run/redis/redis-server.pid)" 2>/dev/null
  fi
}
if system_redis_listening; then
  if command -v service >/dev/null 2>&1; then
    "${SUDO[@]}" service redis-server stop >/dev/null 2>&1 || true
  elif [[ -x /etc/init.d/redis-server ]]; then
    "${SUDO[@]}" /etc/init.d/redis-server stop >/dev/null 2>&1 || true
  fi
fi

need="$(missing)"
if [[ -n "$need" ]]; then
  echo "install-peers: still missing after apt-get install:" >&2
  sed 's/^/  - /' <<<"$need" >&2
  exit 1
fi
echo "install-peers: installed ${PACKAGES[*]}"
