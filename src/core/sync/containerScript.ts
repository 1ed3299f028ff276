import type { ReloadAction } from '../config/types';
import { SandpiperError } from '../errors';
import type { ExecResult } from '../infra/kube/exec';

/**
 * The shell script that applies one batch inside the container. It reads exactly N bytes of tar from stdin
 * (the pipe may never close: kwok keeps it open, and older exec protocols close the whole session with it),
 * extracts into a staging folder inside the target, then renames each file into place, so a reader sees the
 * old or the new file, never a half-written one. Deletions come as a list in the archive. The reload runs last.
 * With no reload action the app's own watcher does the reloading, and watchers that follow a file's inode (Node's
 * `--watch` notices one replacement, then watches the deleted inode for ever) only see writes into the same file:
 * then ($3 = inplace) a file that exists is overwritten in place, as an editor's save does; a new file, or one whose
 * executable bit changes, is still renamed in.
 *
 * The container does not trust the wire: an archive holding anything the sync never sends (an absolute or `..`
 * name, a link, a hard link, a device or fifo, a name with a newline) is refused whole (EXIT_REFUSED), each such
 * entry named, before anything is written; links and devices are caught in the listing, before extraction, as
 * busybox tar would write through a link it had just made. Nor does it trust the target: no write, move or delete
 * goes through a symbolic link already there (each folder of a path is checked, and created one level at a time);
 * such a file is refused by name (`refused<TAB>path<TAB>reason` on stderr) and the rest of the batch lands.
 * A link in the file's own place is replaced, never followed. Only POSIX sh and the busybox/GNU common options.
 *
 * $0 a name, $1 target, $2 byte count, $3 `inplace` or `rename`, then the reload command (if any).
 */
export const APPLY_SCRIPT = String.raw`set -u
O=$PWD
T=$1; N=$2; WM=$3; shift 3
M=; for t in head tar grep find mkdir mv rm; do command -v $t >/dev/null 2>&1 || M="$M $t"; done
if [ -n "$M" ]; then echo "sandpiper-sync: missing tools:$M" >&2; exit 5; fi
S="$T/.sandpiper-sync.$$"
CODE=1
NL='
'
fail() { echo "sandpiper-sync: $*" >&2; cd "$O"; rm -rf "$S"; exit $CODE; }
refuse() { printf 'sandpiper-sync: refused\t%s\t%s\n' "$1" "$2" >&2; }
# Each folder of $1 under the target must be a real folder, not a link; with $2=mk missing ones are made one level
# at a time (mkdir -p would follow a link). 0: fine, 1: refused (WHY says why), 2: a folder is missing.
parents() {
  pq=$1; pd=
  while :; do
    case "$pq" in */*) pd="$pd${'$'}{pq%%/*}"; pq=${'$'}{pq#*/};; *) return 0;; esac
    if [ -L "$T/$pd" ]; then WHY="$pd is a symbolic link"; return 1; fi
    if [ ! -e "$T/$pd" ]; then
      [ "$2" = mk ] || return 2
      mkdir "$T/$pd" 2>/dev/null || [ -d "$T/$pd" ] && [ ! -L "$T/$pd" ] || { WHY="cannot create $pd"; return 1; }
    elif [ ! -d "$T/$pd" ]; then WHY="$pd is not a folder"; return 1; fi
    pd="$pd/"
  done
}
# Clears the place of file $1: a link there is removed (never followed); a folder there refuses the file.
place() {
  if [ -L "$T/$1" ]; then rm -f -- "$T/$1" || { WHY="cannot replace the link"; return 1; }
  elif [ -d "$T/$1" ]; then WHY="a folder is in the way"; return 1; fi
}
# Writes staged file $1 into the existing file in place (same inode) when asked; 1: leave it to mv.
overwrite() {
  [ "$WM" = inplace ] && [ -f "$T/$1" ] && [ ! -L "$T/$1" ] || return 1
  # A hard link would carry the write to its other name (maybe outside the target): that file is renamed in.
  [ -n "$(find "$T/$1" -prune -links 1 2>/dev/null)" ] || return 1
  if [ -x "$S/x/files/$1" ]; then [ -x "$T/$1" ] || return 1; elif [ -x "$T/$1" ]; then return 1; fi
  cat -- "$S/x/files/$1" > "$T/$1" 2>/dev/null || return 1
  rm -f -- "$S/x/files/$1"
}
mkdir -p "$T" || fail "cannot create $T"
rm -rf "$S"; mkdir "$S" "$S/x" || fail "cannot create a staging folder in $T"
head -c "$N" > "$S/in.tar" || fail "cannot read the archive"
# busybox tar strips leading / and ../ even from its listing, saying so on stderr: that is checked too.
# GNU tar would list non-ASCII bytes as backslash escapes in a C locale: ask it for the names as they are.
Q=; if tar --version 2>/dev/null | grep -q GNU; then Q=--quoting-style=literal; fi
tar $Q -tf "$S/in.tar" > "$S/names" 2> "$S/warn" && tar $Q -tvf "$S/in.tar" > "$S/kinds" 2>/dev/null || fail "cannot read the archive"
BAD='^/|(^|/)\.\.(/|$)|^\.?$'
# The sync only sends files/... and .sandpiper/...; anything else is a name busybox stripped (or a forgery).
OUT='^(files|\.sandpiper)(/|$)'
# A hard link lists as "h..." (GNU) or as "-... name -> target" (busybox; carried names never hold " -> ").
KIND='^[^-d]|^-.* -> '
# Carried names never hold a backslash (a forged one, or a GNU escape).
if grep -qE "$BAD" "$S/names" || grep -qvE "$OUT" "$S/names" || grep -qF '\' "$S/names" || grep -qE "$KIND" "$S/kinds" ||
  grep -qi 'removing leading' "$S/warn"; then
  grep -E "$BAD" "$S/names" | while IFS= read -r e; do refuse "$e" "absolute, or .. in the name"; done
  grep -F '\' "$S/names" | while IFS= read -r e; do refuse "$e" "a backslash or control character in the name"; done
  grep -vE "$OUT" "$S/names" | grep -vE "$BAD" | while IFS= read -r e; do refuse "$e" "outside files/ (a stripped / or ..)"; done
  grep -i 'removing leading' "$S/warn" | while IFS= read -r e; do refuse "$e" "absolute, or .. in the name"; done
  grep -E "$KIND" "$S/kinds" | while IFS= read -r e; do refuse "$e" "a link, hard link, device or fifo"; done
  CODE=3; fail "refused the archive: it holds entries the sync never sends"
fi
tar -xf "$S/in.tar" -C "$S/x" 2>&1 || fail "cannot extract the archive"
L="$S/x/.sandpiper"
W=$(cd "$S/x" && { find . ! -type f ! -type d; find . -type f -links +1; find . -name "*$NL*"; })
if [ -n "$W" ]; then
  printf '%s\n' "$W" | while IFS= read -r e; do refuse "${'$'}{e#./}" "a link, hard link, device or odd name"; done
  CODE=3; fail "refused the archive: it holds entries the sync never sends"
fi
for f in delete files; do
  if [ -f "$L/$f" ] && grep -qE "$BAD" "$L/$f"; then
    grep -E "$BAD" "$L/$f" | while IFS= read -r e; do refuse "$e" "absolute, or .. in the $f list"; done
    CODE=3; fail "refused the archive: its $f list leaves the target"
  fi
done
if [ -f "$L/delete" ]; then
  while IFS= read -r p; do
    parents "$p" ""; r=$?
    if [ $r = 1 ]; then refuse "$p" "$WHY"; elif [ $r = 0 ]; then rm -rf -- "$T/$p"; fi
  done < "$L/delete"
fi
if [ -f "$L/files" ]; then
  # Small batches name their files: one rename each, no directory walk.
  while IFS= read -r p; do
    [ -f "$S/x/files/$p" ] || { refuse "$p" "not in the archive"; continue; }
    if parents "$p" mk && place "$p"; then overwrite "$p" || mv -f -- "$S/x/files/$p" "$T/$p" || fail "cannot move $p into $T"
    else refuse "$p" "$WHY"; fi
  done < "$L/files"
elif [ -d "$S/x/files" ]; then
  # Large batches: folder by folder (parents first), one mv for the files of each.
  cd "$S/x/files" || fail "staging vanished"
  find . -type d | while IFS= read -r d; do
    d=${'$'}{d#.}; d=${'$'}{d#/}; D=${'$'}{d:+$d/}
    if ! parents "${'$'}{D}x" mk; then
      find "./$d" -maxdepth 1 -type f | while IFS= read -r f; do refuse "$D${'$'}{f##*/}" "$WHY"; done
      continue
    fi
    find "./$d" -maxdepth 1 -type f | while IFS= read -r f; do
      place "$D${'$'}{f##*/}" || { refuse "$D${'$'}{f##*/}" "$WHY"; rm -f -- "$f"; continue; }
      overwrite "$D${'$'}{f##*/}" || true
    done
    find "./$d" -maxdepth 1 -type f -exec sh -c 'd=$1; shift; mv -f -- "$@" "$d/"' mv "$T/$d" {} + || exit 1
  done || fail "cannot move files into $T"
  cd "$O"
fi
rm -rf "$S"
if [ $# -gt 0 ]; then "$@" || { echo "sandpiper-sync: the reload command failed" >&2; exit 4; }; fi
exit 0
`;

/** Lists `md5  ./path` for every file under the target (one exec, cheap enough for the initial comparison). */
export const HASH_SCRIPT = String.raw`T=$1
M=; for t in find md5sum; do command -v $t >/dev/null 2>&1 || M="$M $t"; done
if [ -n "$M" ]; then echo "sandpiper-sync: missing tools:$M" >&2; exit 5; fi
cd "$T" 2>/dev/null || exit 0
find . -name '.sandpiper-sync.*' -prune -o -type f -exec md5sum {} +
`;

export const EXIT_REFUSED = 3;
export const EXIT_RELOAD_FAILED = 4;
/** The container lacks a tool the scripts need (stderr names them). */
export const EXIT_TOOLS_MISSING = 5;

/** The reload as a command line appended to the apply script's arguments. */
export function reloadCommand(reload: ReloadAction): string[] {
  switch (reload.kind) {
    case 'none':
      return [];
    case 'command':
      return reload.command;
    case 'signal': {
      const sig = reload.signal.replace(/^SIG/i, '').toUpperCase();
      if (!/^[A-Z0-9]+$/.test(sig))
        return ['sh', '-c', `echo "bad signal ${sig.replace(/[^A-Za-z0-9]/g, '')}" >&2; exit 1`];
      if (!reload.process) return ['kill', '-s', sig, '1'];
      // pidof is in busybox and procps images, pgrep in most others.
      return [
        'sh',
        '-c',
        'p=$(pidof "$1" 2>/dev/null || pgrep -x "$1"); [ -n "$p" ] || { echo "no process $1" >&2; exit 1; }; kill -s "$0" $p',
        sig,
        reload.process,
      ];
    }
  }
}

export function applyCommand(target: string, byteCount: number, reload: ReloadAction): string[] {
  const write = reload.kind === 'none' ? 'inplace' : 'rename';
  return ['sh', '-c', APPLY_SCRIPT, 'sandpiper-sync', target, String(byteCount), write, ...reloadCommand(reload)];
}

export function hashCommand(target: string): string[] {
  return ['sh', '-c', HASH_SCRIPT, 'sandpiper-sync', target];
}

/** A file the container would not write or delete, and why (a link on its way, a folder in its place). */
export interface Refusal {
  path: string;
  reason: string;
}

/** The `refused<TAB>path<TAB>reason` lines of the scripts' stderr (carried names never hold a tab or newline). */
export function parseRefusals(stderr: string): Refusal[] {
  const out: Refusal[] = [];
  for (const line of stderr.split('\n')) {
    const m = /^sandpiper-sync: refused\t(.*)\t([^\t]*)$/.exec(line);
    if (m) out.push({ path: m[1], reason: m[2] });
  }
  return out;
}

/** What the scripts said, without the per-file refusal lines, on one line. */
export function scriptSaid(result: ExecResult): string {
  const lines = result.stderr.split('\n').filter((l) => l.trim() && !l.startsWith('sandpiper-sync: refused\t'));
  return lines.slice(-3).join(' ') || result.message || `exit code ${result.exitCode}`;
}

const TOOLS_FIX = 'Use a base image with busybox, or point image.build at a dev stage of the Dockerfile that has them.';
const TOOLS_NEEDED =
  'Live sync runs sh, tar, head, grep, find, mkdir, mv, rm and md5sum in the container; distroless images have none.';

/**
 * The error for a failed exec of the scripts. A container without a shell or without the tools gets one clear,
 * final error (sync-tools-missing: retrying cannot help) instead of an exit code; anything else is sync-failed.
 */
export function scriptFailure(result: ExecResult, pod: string, container: string, what: string): SandpiperError {
  const where = `container ${container} of pod ${pod}`;
  const missing = /sandpiper-sync: missing tools:(.*)/.exec(result.stderr);
  if (result.exitCode === EXIT_TOOLS_MISSING && missing) {
    const tools = missing[1].trim().split(/\s+/).join(', ');
    return new SandpiperError(
      'sync-tools-missing',
      `Cannot sync into ${where}: it has no ${tools}. ${TOOLS_FIX}`,
      TOOLS_NEEDED,
    );
  }
  // The runtime could not start sh: docker/runc say 126 or 127 and "executable file not found", a kubelet passes the
  // same words in the exec status without a code. Our scripts never exit 126/127 themselves (they check first).
  const runtime = `${result.message ?? ''}\n${result.stdout}\n${result.stderr}`;
  const cannotStart =
    /executable file not found|no such file or directory|exec format error|permission denied/i.test(runtime) &&
    /\bsh\b/.test(runtime);
  const fromScript = result.stderr.includes('sandpiper-sync:');
  if (!fromScript && (result.exitCode === 126 || result.exitCode === 127 || (result.exitCode === -1 && cannotStart))) {
    const lines = runtime
      .replace(/[\x00-\x08\x0e-\x1f]/g, '')
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean);
    const said = lines.at(-1) ?? `exit code ${result.exitCode}`;
    return new SandpiperError(
      'sync-tools-missing',
      `Cannot sync into ${where}: it has no /bin/sh to run the sync. ${TOOLS_FIX}`,
      `${TOOLS_NEEDED} The runtime said: ${said}`,
    );
  }
  return new SandpiperError('sync-failed', `${what} ${pod} failed: ${scriptSaid(result)}`);
}
