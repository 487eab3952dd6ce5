#!/usr/bin/env bash
# Time from `go tool task dev` to the first row on screen after pressing c,
# in a fresh clone of this repository, driven through tmux as a person would.
#   internal/bench/first-row.sh cold   # empty module and build caches
#   internal/bench/first-row.sh warm   # the caches as they are
# Needs tmux and sqlite3.
set -euo pipefail
mode=${1:-warm}
repo=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
work=$(mktemp -d /tmp/clerk-sync-first-row.XXXX)
git clone -q "$repo" "$work/clone"
envs="CLERK_SYNC_CACHE_DIR=$work/cache MOCKCLERK_STATE=$work/state.json"
if [ "$mode" = cold ]; then
  mkdir -p "$work/mod" "$work/gocache"
  envs="$envs GOMODCACHE=$work/mod GOCACHE=$work/gocache"
fi
session=first-row-$$
start=$(date +%s.%N)
tmux new-session -d -s "$session" -x 160 -y 40 \
  "cd $work/clone && env $envs PATH=/usr/local/go/bin:\$PATH go tool task dev -- --addr 127.0.0.1:0; sleep 600"
until tmux capture-pane -t "$session" -p | grep -q '\[Events\]'; do sleep 0.2; done
up=$(date +%s.%N)
tmux send-keys -t "$session" c
until [ "$(sqlite3 "$work/clone/clerk-sync.db" 'SELECT count(*) FROM "User"' 2>/dev/null || echo 0)" -ge 1 ] &&
  tmux capture-pane -t "$session" -p | grep -q '1 user'; do sleep 0.05; done
end=$(date +%s.%N)
tmux send-keys -t "$session" q
sleep 1
tmux kill-session -t "$session" 2>/dev/null || true
chmod -R u+w "$work" 2>/dev/null || true
rm -rf "$work"
printf '%s caches: inspector up after %.1f s, first row on screen after %.1f s\n' "$mode" \
  "$(echo "$up - $start" | bc)" "$(echo "$end - $start" | bc)"
