#!/usr/bin/env bash
# Development certificates for ledgerd's TLS listener, made with openssl:
#
#   DIR/ca.pem, ca.key           a development certificate authority
#   DIR/server.pem, server.key   the daemon's certificate (SAN localhost, 127.0.0.1, ::1)
#   DIR/client.pem, client.key   a client certificate (CN=ledger-operator) for ledger-rpc
#   DIR/expired.pem, expired.key a client certificate that expired in 2020, to check refusals
#
# Usage: scripts/gen-certs.sh DIR [CLIENT_NAME]
#   LEDGER_CERT_SAN   the server certificate's names (default DNS:localhost,IP:127.0.0.1,IP:::1);
#                     for a real host, e.g. LEDGER_CERT_SAN=DNS:ledger.example.com,IP:10.0.0.5
#   LEDGER_CERT_DAYS  how long the certificates last (default 825)
# Never use these in production: the CA key sits next to the certificates.
set -euo pipefail

usage() {
    cat >&2 <<'USAGE'
usage: scripts/gen-certs.sh DIR [CLIENT_NAME]

Writes development certificates for ledgerd's TLS listener into DIR:
  ca.pem, ca.key                a development certificate authority
  server.pem, server.key        the daemon's certificate, for LEDGER_CERT_SAN
                                (default DNS:localhost,IP:127.0.0.1,IP:::1)
  client.pem, client.key        a client certificate, CN=CLIENT_NAME (default ledger-operator)
  expired.pem, expired.key      a client certificate that expired in 2020

For a real host: LEDGER_CERT_SAN=DNS:ledger.example.com,IP:10.0.0.5 scripts/gen-certs.sh DIR
The openssl commands it runs are printed as it runs them.
USAGE
}

case "${1:-}" in
    "" | -h | --help) usage; [ -n "${1:-}" ]; exit $? ;;
esac
dir="$1"
client_name="${2:-ledger-operator}"
san="${LEDGER_CERT_SAN:-DNS:localhost,IP:127.0.0.1,IP:::1}"
days="${LEDGER_CERT_DAYS:-825}"
command -v openssl >/dev/null 2>&1 || { echo "gen-certs.sh: openssl is not installed (apt-get install openssl)" >&2; exit 1; }
mkdir -p "$dir"
cd "$dir"
umask 077

# Each openssl command is shown on stderr before it runs, to repeat by hand with your own CA.
openssl() {
    echo "+ openssl $*" >&2
    command openssl "$@"
}

openssl req -x509 -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:P-256 -keyout ca.key -out ca.pem \
    -days "$days" -subj "/O=SocialSyncLedger development/CN=SocialSyncLedger development CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null

issue() {
    local name="$1" subject="$2" extensions="$3"
    openssl req -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:P-256 -keyout "$name.key" -out "$name.csr" \
        -subj "$subject" 2>/dev/null
    printf '%b' "$extensions" > "$name.ext"
    openssl x509 -req -in "$name.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -out "$name.pem" \
        -days "$days" -extfile "$name.ext" 2>/dev/null
    rm -f "$name.csr" "$name.ext"
}

issue server "/O=SocialSyncLedger/CN=localhost" \
    "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=$san\n"
issue client "/O=SocialSyncLedger/CN=$client_name" \
    "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n"
# openssl x509 cannot backdate; openssl ca can, with a throwaway database.
mkdir -p ca-db
: > ca-db/index.txt
echo 1000 > ca-db/serial
cat > ca-db/ca.cnf <<CONF
[ ca ]
default_ca = dev
[ dev ]
database = ca-db/index.txt
new_certs_dir = ca-db
serial = ca-db/serial
default_md = sha256
policy = any
[ any ]
commonName = supplied
[ client ]
basicConstraints = CA:FALSE
extendedKeyUsage = clientAuth
CONF
openssl req -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:P-256 -keyout expired.key -out expired.csr \
    -subj "/CN=$client_name-expired" 2>/dev/null
openssl ca -batch -config ca-db/ca.cnf -cert ca.pem -keyfile ca.key -in expired.csr -out expired.pem \
    -startdate 20200101000000Z -enddate 20200201000000Z -extensions client -notext >/dev/null 2>&1
rm -rf ca-db expired.csr ca.srl
chmod 644 ./*.pem
echo "gen-certs.sh: wrote ca.pem, server.pem/server.key, client.pem/client.key and expired.pem/expired.key to $(pwd)" >&2
