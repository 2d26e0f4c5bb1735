# Sourced by the end-to-end scripts: the check counters and the helpers
# every one of them needs.
#
#   fail MESSAGE...          count a failure and print it (then, if the
#                            script defines on_failure, call it: to show a
#                            screen, say)
#   check DESCRIPTION CMD... run CMD; count it, print ok or fail
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
