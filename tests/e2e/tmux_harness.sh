# Sourced by the end-to-end scripts that drive nnlab's dashboard in a real
# terminal (tmux): a private tmux server and the helpers they share, with
# those of checks.sh.  The sourcing script sets $pane to the tmux target it watches
# and ends with report.
#
#   T ARGS...                tmux on this script's own server
#   check DESCRIPTION CMD... run CMD; count it, print ok/FAIL (and the screen)
#   wait_for SECONDS CMD...  poll until CMD succeeds
#   screen, on_screen TEXT   the pane's text, and whether TEXT is on it
#   exited NAME              whether the run NAME wrote its exit status
#   open_window NAME COLS ROWS
#                            run $tmp/NAME.sh in a COLS x ROWS UTF-8 window
#                            of session e2e, and watch it ($pane)
#   report NAME              the summary line; fails if a check failed
if ! command -v tmux >/dev/null 2>&1; then
	echo "SKIP: tmux is not installed (script/bootstrap installs it); this test needs a terminal to drive"
	exit 77
fi

tmp=$(mktemp -d)
sock=$tmp/tmux.sock
T() { tmux -S "$sock" -f /dev/null "$@"; }
# (|| true: under set -e a failing command would end the trap early)
trap 'T kill-server >/dev/null 2>&1 || true; rm -rf "$tmp"' EXIT
pane=
source "$(dirname "${BASH_SOURCE[0]}")/checks.sh"

screen() { T capture-pane -p -t "$pane" 2>/dev/null; }
on_screen() { screen | grep -qF -- "$1"; }
exited() { [[ -s $tmp/$1.exit ]]; }
open_window() { # open_window NAME COLS ROWS
	local name=$1 cols=$2 rows=$3
	if T has-session -t e2e 2>/dev/null; then
		T new-window -d -t e2e -n "$name" "env LANG=C.UTF-8 LC_ALL=C.UTF-8 TERM=screen-256color bash $tmp/$name.sh"
	else
		T -u new-session -d -s e2e -n "$name" -x "$cols" -y "$rows" \
			"env LANG=C.UTF-8 LC_ALL=C.UTF-8 TERM=screen-256color bash $tmp/$name.sh"
	fi
	pane="e2e:$name"
	T resize-window -t "$pane" -x "$cols" -y "$rows"
}
on_failure() { # a failure shows the screen it looked at
	echo "--- screen ---"
	screen
	echo "--------------"
}

report() { # report NAME
	echo "$1: $checks checks, $failures failed"
	((failures == 0))
}
