#!/bin/sh
# Copies exactly the programs molt runs (and the shared libraries they load) from this Debian
# stage into $1, laid out as the executor image's root. Run by deploy/executor/Dockerfile.
set -eu
out="$1"
mkdir -p "$out"

# What molt spawns (every spawn in packages/*/src; test/e2e/executor-image.test.ts checks that the
# image holds exactly these): the runners (sh, env, unshare, nsenter, setpriv, mount, cp, touch,
# mknod, chown, mkdir, readlink, true, ip), the snapshotter (sh for its mount helper, mount,
# umount, cp, mknod, getfattr, setfattr, pigz for gzip layers), the work dir's removal (rm), layer
# compression and zstd contexts (zstd), ADD of local archives (xz, bzip2; gzip goes through
# pigz), RUN --mount locks (flock, which runs cat while it holds a lock), --ssh (ssh-agent,
# ssh-add), travelling cache mounts (tar), git contexts and ADD of git URLs (git and its https
# helper; --git recurse-submodules=true runs `git submodule`, which in git 2.39 is a shell script,
# git-submodule with git-sh-setup and git-sh-i18n, that runs basename, sed and uname). Not copied:
# gzip (pigz is there), perl (the lock helper falls back to flock), git's other programs (the
# builtins molt uses are in the git binary) and every other program of the Debian stage.
programs="/bin/sh /usr/bin/env /bin/cp /bin/touch /bin/mknod /bin/chown /bin/mkdir /bin/readlink
/bin/true /bin/rm /bin/cat /usr/bin/unshare /usr/bin/nsenter /usr/bin/setpriv /bin/mount /bin/umount
/usr/bin/flock /bin/ip /usr/bin/pigz /usr/bin/zstd /usr/bin/xz /bin/bzip2 /bin/tar /usr/bin/getfattr
/usr/bin/setfattr /usr/bin/ssh-agent /usr/bin/ssh-add /usr/bin/git /usr/lib/git-core/git-remote-http
/usr/lib/git-core/git-submodule /usr/lib/git-core/git-sh-setup /usr/lib/git-core/git-sh-i18n /bin/sed
/usr/bin/basename /bin/uname"

copy() {
  # $1: a path in this stage; copied with its directory, following symlinks to the real file.
  src="$1"
  dst="$out$src"
  [ -e "$dst" ] && return 0
  mkdir -p "$(dirname "$dst")"
  cp -L "$src" "$dst"
}

for p in $programs; do
  real=$(readlink -f "$p")
  copy "$real"
  [ "$real" = "$p" ] || { mkdir -p "$(dirname "$out$p")"; ln -sf "$real" "$out$p"; }
  for lib in $(ldd "$real" 2>/dev/null | sed -n 's/.*=> \(\/[^ ]*\).*/\1/p; s/^[[:space:]]*\(\/[^ ]*\) (0x.*/\1/p'); do
    copy "$(readlink -f "$lib")"
    [ "$(readlink -f "$lib")" = "$lib" ] || { mkdir -p "$(dirname "$out$lib")"; ln -sf "$(readlink -f "$lib")" "$out$lib"; }
  done
done
# Node's own libraries (its binary is added later in the Dockerfile): libstdc++, libgcc_s.
for lib in /usr/lib/x86_64-linux-gnu/libstdc++.so.6 /lib/x86_64-linux-gnu/libgcc_s.so.1 \
  /lib/x86_64-linux-gnu/libdl.so.2 /lib/x86_64-linux-gnu/libpthread.so.0 /lib/x86_64-linux-gnu/libm.so.6; do
  real=$(readlink -f "$lib")
  copy "$real"
  [ "$real" = "$lib" ] || ln -sf "$real" "$out$lib"
done
# git runs its https helper by this name too.
ln -sf git-remote-http "$out/usr/lib/git-core/git-remote-https"
# /bin and /lib64 as Debian has them (merged /usr).
[ -e "$out/lib64" ] || { mkdir -p "$out/lib64"; ln -sf /lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 "$out/lib64/ld-linux-x86-64.so.2"; }

# Trust, users, and the directories kaniko's image has.
mkdir -p "$out/etc/ssl/certs" "$out/tmp" "$out/workspace" "$out/kaniko/.docker" "$out/root" "$out/home/builder"
cp -L /etc/ssl/certs/ca-certificates.crt "$out/etc/ssl/certs/ca-certificates.crt"
chmod 1777 "$out/tmp"
printf 'root:x:0:0:root:/root:/bin/sh\nbuilder:x:1000:1000:builder:/home/builder:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n' > "$out/etc/passwd"
printf 'root:x:0:\nbuilder:x:1000:\nnogroup:x:65534:\n' > "$out/etc/group"
chown 1000:1000 "$out/home/builder"
chmod 777 "$out/workspace" "$out/kaniko" "$out/kaniko/.docker"
