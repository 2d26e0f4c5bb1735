# Sourced by the end-to-end scripts: the check counters and the helpers
# every one of them needs.
#
#   fail MESSAGE...          count a failure and print it (then, if the
#                            script defines on_failure, call it: to show a
#                            screen, say)
#   check DESCRIPTION CMD... run CMD; count it, print ok or fail
#   expect_exit CODE CMD...  run CMD with its stdout and stderr in $tmp/out and
#                            $tmp/err; count it, fail unless it exits CODE
#   expect_in FILE TEXT      count it, fail unless FILE holds TEXT
#   wait_for SECONDS CMD...  poll until CMD succeeds
failures=0
checks=0

fail() {
	echo "FAIL: $*"
	failures=$((failures + 1))
	if declare -F on_failure >/dev/null; then
		on_failure
	fi
}

check() { # check DESCRIPTION COMMAND...
	local what=$1
	shift
	checks=$((checks + 1))
	if "$@"; then
		echo "ok: $what"
	else
		fail "$what"
	fi
}

expect_exit() { # expect_exit CODE COMMAND...
	local want=$1
	shift
	checks=$((checks + 1))
	"$@" >"$tmp/out" 2>"$tmp/err"
	local got=$?
	if [[ $got != "$want" ]]; then
		fail "'$*' exited $got, expected $want; stderr: $(head -c 400 "$tmp/err")"
		return 1
	fi
}

expect_in() { # expect_in FILE TEXT
	checks=$((checks + 1))
	grep -qF -- "$2" "$1" || fail "$1 lacks '$2': $(head -c 400 "$1")"
}

wait_for() { # wait_for SECONDS COMMAND...
	local limit=$1
	shift
	local end=$((SECONDS + limit))
	while ((SECONDS <= end)); do
		"$@" && return 0
		sleep 0.05
	done
	return 1
}
