#!/usr/bin/env bash
# Builds SocialSyncLedger in release and installs it:
#   PREFIX/bin/{ledgerd,ledger-rpc,ledger-demo,ledger-bench}
#   PREFIX/share/man/man1/*.1                     (from swift-argument-parser's generate-manual)
#   PREFIX/share/bash-completion/completions/*, PREFIX/share/zsh/site-functions/_*,
#   PREFIX/share/fish/vendor_completions.d/*.fish
#   PREFIX/lib/systemd/system/ledgerd.{service,socket}, PREFIX/lib/sysusers.d/ledgerd.conf
#   PREFIX/etc/socialsync-ledger/ledgerd.conf     (the settings; an existing one is kept, the new beside it as .dist)
#   PREFIX/share/doc/socialsync-ledger/{README.md,LICENSE,CHANGELOG.md,PROTOCOL.md}
#
# usage: scripts/install.sh [--prefix /usr/local] [--destdir DIR]
#   --prefix   where the files go (default /usr/local); the unit's ExecStart names PREFIX/bin/ledgerd
#   --destdir  a staging root prepended to every path, as packagers use it (default none)
#
# The binaries need nothing from the checkout: migrations are compiled in. Nothing is started
# or enabled; README's "Running under systemd" says what to do next.
set -euo pipefail

prefix=/usr/local
destdir=
while (($#)); do
    case "$1" in
        --prefix) prefix="${2:?--prefix needs a directory}"; shift 2 ;;
        --prefix=*) prefix="${1#--prefix=}"; shift ;;
        --destdir) destdir="${2:?--destdir needs a directory}"; shift 2 ;;
        --destdir=*) destdir="${1#--destdir=}"; shift ;;
        -h | --help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "install.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
done
[[ $prefix == /* ]] || { echo "install.sh: --prefix must be an absolute path, not '$prefix'" >&2; exit 2; }
[[ -z $destdir || $destdir == /* ]] || destdir="$PWD/$destdir"

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
tools=(ledgerd ledger-rpc ledger-demo ledger-bench)

echo "install.sh: building release" >&2
swift build -c release --product ledgerd >&2
for tool in "${tools[@]:1}"; do swift build -c release --product "$tool" >&2; done
bin="$(swift build -c release --show-bin-path)"

# generate-manual writes one page per tool and subcommand into the plugin's work directory.
echo "install.sh: generating man pages" >&2
swift package --allow-writing-to-package-directory generate-manual --multi-page >&2
manuals="$root/.build/plugins/GenerateManual/outputs"

base="$destdir$prefix"
install -d "$base/bin" "$base/share/man/man1" "$base/share/bash-completion/completions" "$base/share/zsh/site-functions" \
    "$base/share/fish/vendor_completions.d" "$base/lib/systemd/system" "$base/lib/sysusers.d" "$base/share/doc/socialsync-ledger"
for tool in "${tools[@]}"; do
    install -m 0755 "$bin/$tool" "$base/bin/$tool"
    "$bin/$tool" --generate-completion-script bash >"$base/share/bash-completion/completions/$tool"
    "$bin/$tool" --generate-completion-script zsh >"$base/share/zsh/site-functions/_$tool"
    "$bin/$tool" --generate-completion-script fish >"$base/share/fish/vendor_completions.d/$tool.fish"
done
pages=0
while IFS= read -r -d '' page; do
    install -m 0644 "$page" "$base/share/man/man1/$(basename "$page")"
    pages=$((pages + 1))
done < <(find "$manuals" -name '*.1' -print0)
((pages > 0)) || { echo "install.sh: generate-manual made no pages under $manuals" >&2; exit 1; }
sed -e "s#/usr/local/bin/ledgerd#$prefix/bin/ledgerd#" -e "s#/usr/local/etc/#$prefix/etc/#" dist/systemd/ledgerd.service \
    >"$base/lib/systemd/system/ledgerd.service"
# An operator's settings are never overwritten; the shipped ones are left beside them.
install -d "$base/etc/socialsync-ledger"
if [[ -e $base/etc/socialsync-ledger/ledgerd.conf ]]; then
    install -m 0644 dist/ledgerd.conf "$base/etc/socialsync-ledger/ledgerd.conf.dist"
else
    install -m 0644 dist/ledgerd.conf "$base/etc/socialsync-ledger/ledgerd.conf"
fi
install -m 0644 dist/systemd/ledgerd.socket "$base/lib/systemd/system/ledgerd.socket"
install -m 0644 dist/systemd/ledgerd.sysusers "$base/lib/sysusers.d/ledgerd.conf"
install -m 0644 README.md LICENSE CHANGELOG.md Protocol/PROTOCOL.md "$base/share/doc/socialsync-ledger/"
echo "install.sh: installed ${#tools[@]} tools, $pages man pages and the systemd units under $base" >&2
