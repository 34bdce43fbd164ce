#!/usr/bin/env bash
# `make demo`: the nexus-engine example resolved on a throw-away embedded store.
# Everything happens in a temporary directory, which is removed at the end: the repository
# stays clean and your real ~/.config is never touched.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r "$here/nexus-engine" "$work/nexus-engine"
cd "$work/nexus-engine"
command -v git >/dev/null && git init -q .   # so `check` can verify .gitignore
export HOME="$work/home"
unset VAULTLINE_MASTER_KEY VAULTLINE_KEY_FILE VAULTLINE_PROJECT_DIR XDG_CONFIG_HOME

# Each command shown in bold on a terminal (unless NO_COLOR is set), plain in a log.
if [ -t 1 ] && [ -z "${NO_COLOR:-}" ]; then
    step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }
else
    step() { printf '\n$ %s\n' "$*"; }
fi

step "vaultline init"
vaultline init

step "printf '…' | vaultline secret put local:nexus-engine/prod/ConnectionStrings/Primary   # values from stdin, never argv"
printf 'postgres://nexus:s3cret-demo@db.prod.internal:5432/nexus' \
  | vaultline secret put local:nexus-engine/prod/ConnectionStrings/Primary
printf 'sk-demo-0123456789abcdefghijklmnop' | vaultline secret put AI:OpenAI:ApiKey --env prod
python -c 'from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.hazmat.primitives import serialization as s
print(ed25519.Ed25519PrivateKey.generate().private_bytes(s.Encoding.PEM, s.PrivateFormat.PKCS8, s.NoEncryption()).decode(), end="")' \
  | vaultline secret put Jwt:SigningKey --env prod

step "vaultline resolve --env prod        # defaults → env pack → secrets → overrides; secrets masked"
vaultline resolve --env prod

step "vaultline env explain Logging:LogLevel:Default --env prod"
vaultline env explain Logging:LogLevel:Default --env prod

step "vaultline resolve --env prod --format json --reveal"
vaultline resolve --env prod --format json --reveal

step "vaultline run --env prod -- python app.py   # the child gets the bundle; its output is masked"
vaultline run --env prod -- python -c 'import os
print("connecting to", os.environ["CONNECTIONSTRINGS__PRIMARY"])
print("log level", os.environ["LOGGING__LOGLEVEL__DEFAULT"])'

step "vaultline check --env prod"
vaultline check --env prod

step "vaultline audit verify"
vaultline audit verify
