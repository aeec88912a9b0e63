#!/usr/bin/env bash
# Installs what elfuse's tasks and tests need, idempotently, into .tools/ (never system-wide,
# except Debian packages from the system's own apt sources). Nothing here changes apt sources or
# dpkg architectures: other suites and architectures are read through a private apt state directory.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
tools="$here/.tools"
DENO_VERSION=2.9.6
quiet=${ELFUSE_SETUP_QUIET:-0}
say() { [ "$quiet" = 1 ] || echo "setup: $*" >&2; }
mkdir -p "$tools/bin"

# Deno, pinned, from the npm registry (the binary ships in a per-platform optional dependency).
if ! "$tools/bin/deno" --version 2>/dev/null | grep -q "^deno $DENO_VERSION "; then
  say "installing deno $DENO_VERSION from npm"
  npm install --silent --no-audit --no-fund --prefix "$tools/npm" "deno@$DENO_VERSION" >/dev/null 2>&1 ||
    npm install --no-audit --no-fund --prefix "$tools/npm" "deno@$DENO_VERSION"
  bin=$(find "$tools/npm/node_modules/@deno" -maxdepth 2 -name deno -type f | head -n 1)
  [ -n "$bin" ] || { echo "setup: npm did not ship a deno binary for this platform" >&2; exit 1; }
  chmod +x "$bin"; ln -sf "$bin" "$tools/bin/deno"
fi

case "$(uname -s)" in
  Linux) ;;
  Darwin) say "macOS: install unicorn with 'brew install unicorn' for the unicorn backend"; exit 0 ;;
  *) echo "setup: unsupported host $(uname -s)" >&2; exit 1 ;;
esac

# Debian packages from the system's own sources: the aarch64 cross toolchains (C, C++, Go),
# qemu-user (qemu-aarch64, and qemu-x86_64 for the x86-64 benchmarks), the host's compilers and
# squashfs-tools (mksquashfs makes the images the FUSE cases mount with squashfuse), gdb-multiarch
# and lldb (the GDB stub's tests, runtime/gdb/gdb_test.ts).
need=()
pkgs=(gcc-aarch64-linux-gnu g++-aarch64-linux-gnu libc6-dev-arm64-cross golang-go qemu-user squashfs-tools
  gdb-multiarch lldb)
# On an x86-64 host, its own compilers build the x86-64 guests (fixtures/x86, docs/x86_64.md).
[ "$(uname -m)" = x86_64 ] && pkgs+=(gcc g++ libc6-dev)
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
  say "installing ${need[*]}"
  $sudo apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
fi

# A private apt state over one Debian suite, for packages the system's sources lack.
apt_private() { # suite, then apt-get arguments
  local suite=$1; shift
  local d="$tools/apt/$suite"
  mkdir -p "$d/lists/partial" "$d/cache/archives/partial" "$d/prefs.d"
  touch "$d/status"
  echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian $suite main" >"$d/sources.list"
  apt-get -qq -o Dir::Etc::SourceList="$d/sources.list" -o Dir::Etc::SourceParts=/nonexistent \
    -o Dir::State::Lists="$d/lists" -o Dir::Cache="$d/cache" -o Dir::State::status="$d/status" \
    -o Dir::Etc::Preferences="$d/prefs" -o Dir::Etc::PreferencesParts="$d/prefs.d" \
    -o APT::Architecture="$(dpkg --print-architecture)" -o APT::Architectures::="$(dpkg --print-architecture)" \
    -o APT::Architectures::=arm64 "$@"
}
fetch_deb() { # suite, package[:arch], destination folder (unpacked with dpkg-deb)
  local suite=$1 pkg=$2 dest=$3
  [ -f "$dest/.done" ] && return 0
  [ -f "$tools/apt/$suite/.updated" ] || { apt_private "$suite" update && touch "$tools/apt/$suite/.updated"; }
  local tmp; tmp=$(mktemp -d); chmod 777 "$tmp" # apt drops to the _apt user to download
  (cd "$tmp" && apt_private "$suite" download "$pkg" >/dev/null)
  rm -rf "$dest"; mkdir -p "$dest"
  dpkg-deb -x "$tmp"/*.deb "$dest"
  basename "$tmp"/*.deb >"$dest/.done"
  rm -rf "$tmp"
}

# libunicorn: 2.1.4+ from sid (loads on bookworm: it needs only libc6 >= 2.34), and bookworm's 2.0.1
# for comparison benchmarks.
say "libunicorn (sid and bookworm)"
fetch_deb sid libunicorn2t64 "$tools/unicorn/sid"
fetch_deb bookworm libunicorn2 "$tools/unicorn/bookworm"
# busybox-static for arm64, the matrix's first real-world corpus.
fetch_deb bookworm busybox-static:arm64 "$tools/debs/busybox-static"
# Benchmark programs (bench/cases.ts) run with the sysroot's libc: make (a posix_spawn per recipe)
# and rclone (a 55 MB Go binary, for the start of a big program).
fetch_deb bookworm make:arm64 "$tools/debs/make"
fetch_deb bookworm rclone:arm64 "$tools/debs/rclone"
# Debian arm64 programs for the matrix's dynamic cases, built with `elfuse sysroot create`.
"$tools/bin/deno" run -A "$here/matrix/corpus_sysroot.ts"
# box64 (arm64, from sid) and the x86-64 libraries it pulls in, for the x86-64 guests' tests and
# matrix lane (docs/x86_64.md): about 8.5 MB of packages, measured at 7 s here.
if [ ! -x "$tools/x86-sysroot/usr/bin/box64" ]; then
  say "box64 sysroot (sid)"
  "$tools/bin/deno" run -A --no-lock --config "$here/deno.json" "$here/cli.ts" \
    sysroot create --suite sid "$tools/x86-sysroot" box64 2>/dev/null ||
    "$tools/bin/deno" run -A --no-lock --config "$here/deno.json" "$here/cli.ts" \
      sysroot create --suite sid "$tools/x86-sysroot" box64
fi
say "ready"
