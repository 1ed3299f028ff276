import type { ReloadAction } from '../config/types';

/**
 * The shell script that applies one batch inside the container. It reads exactly N bytes of tar from stdin
 * (the pipe may never close: kwok keeps it open, and older exec protocols close the whole session with it),
 * checks every name again (the archive was built safe, but the container must not trust the wire), extracts
 * into a staging folder inside the target, then renames each file into place, so a reader sees the old or
 * the new file, never a half-written one. Deletions come as a list in the archive. The reload runs last.
 *
 * $0 a name, $1 target, $2 byte count, then the reload command (if any).
 * SANDPIPER_SYNC_ROOT, when set in the container's exec environment, prefixes the target: runtimes whose
 * exec does not run in the container's root filesystem (KWOK test nodes run it on the host) set it.
 */
export const APPLY_SCRIPT = String.raw`set -u
O=$PWD
T="${'$'}{SANDPIPER_SYNC_ROOT:-}$1"; N=$2; shift 2
S="$T/.sandpiper-sync.$$"
CODE=1
fail() { echo "sandpiper-sync: $*" >&2; cd "$O"; rm -rf "$S"; exit $CODE; }
BAD='^/|(^|/)\.\.(/|$)|^\.?$'
mkdir -p "$T" "$S/x" || fail "cannot create $T"
head -c "$N" > "$S/in.tar" || fail "cannot read the archive"
if tar -tf "$S/in.tar" | grep -qE "$BAD"; then CODE=3; fail "refused: an archive entry is absolute or contains .."; fi
tar -xf "$S/in.tar" -C "$S/x" 2>&1 || fail "cannot extract the archive"
L="$S/x/.sandpiper"
if [ -n "$(find "$S/x" -type l)" ]; then CODE=3; fail "refused: the archive holds links"; fi
if [ -d "$L" ] && grep -qE "$BAD" "$L"/*; then CODE=3; fail "refused: a listed path is absolute or contains .."; fi
if [ -f "$L/delete" ]; then
  while IFS= read -r p; do rm -rf -- "$T/$p"; done < "$L/delete"
fi
if [ -f "$L/files" ]; then
  # Small batches name their files: one rename each, no directory walk.
  while IFS= read -r p; do
    case "$p" in */*) [ -d "$T/${'$'}{p%/*}" ] || mkdir -p "$T/${'$'}{p%/*}" || fail "cannot create ${'$'}{p%/*}";; esac
    mv -f -- "$S/x/files/$p" "$T/$p" || fail "cannot move $p into $T"
  done < "$L/files"
elif [ -d "$S/x/files" ]; then
  cd "$S/x/files" || fail "staging vanished"
  find . -type d | while IFS= read -r d; do
    mkdir -p "$T/$d" && find "$d" -maxdepth 1 -type f -exec sh -c 'd=$1; shift; mv -f -- "$@" "$d/"' mv "$T/$d" {} + || exit 1
  done || fail "cannot move files into $T"
  cd "$O"
fi
rm -rf "$S"
if [ $# -gt 0 ]; then "$@" || { echo "sandpiper-sync: the reload command failed" >&2; exit 4; }; fi
exit 0
`;

/** Lists `md5  ./path` for every file under the target (one exec, cheap enough for the initial comparison). */
export const HASH_SCRIPT = String.raw`T="${'$'}{SANDPIPER_SYNC_ROOT:-}$1"
cd "$T" 2>/dev/null || exit 0
find . -name '.sandpiper-sync.*' -prune -o -type f -exec md5sum {} +
`;

export const EXIT_REFUSED = 3;
export const EXIT_RELOAD_FAILED = 4;

/** The reload as a command line appended to the apply script's arguments. */
export function reloadCommand(reload: ReloadAction): string[] {
  switch (reload.kind) {
    case 'none':
      return [];
    case 'command':
      return reload.command;
    case 'signal': {
      const sig = reload.signal.replace(/^SIG/i, '').toUpperCase();
      if (!/^[A-Z0-9]+$/.test(sig)) return ['sh', '-c', `echo "bad signal ${sig.replace(/[^A-Za-z0-9]/g, '')}" >&2; exit 1`];
      if (!reload.process) return ['kill', '-s', sig, '1'];
      // pidof is in busybox and procps images, pgrep in most others.
      return ['sh', '-c', 'p=$(pidof "$1" 2>/dev/null || pgrep -x "$1"); [ -n "$p" ] || { echo "no process $1" >&2; exit 1; }; kill -s "$0" $p', sig, reload.process];
    }
  }
}

export function applyCommand(target: string, byteCount: number, reload: ReloadAction): string[] {
  return ['sh', '-c', APPLY_SCRIPT, 'sandpiper-sync', target, String(byteCount), ...reloadCommand(reload)];
}

export function hashCommand(target: string): string[] {
  return ['sh', '-c', HASH_SCRIPT, 'sandpiper-sync', target];
}
