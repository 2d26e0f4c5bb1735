# Sourced by the end-to-end scripts: the check counters and the helpers
# every one of them needs.
#
#   fail MESSAGE...          count a failure and print it
#   check DESCRIPTION CMD... run CMD; count it, print ok or FAIL (and, if the
#                            script defines check_failed, call it on FAIL)
#   wait_for SECONDS CMD...  poll until CMD succeeds
failures=0
checks=0

fail() {
	echo "FAIL: $*"
	failures=$((failures + 1))
}

check() { # check DESCRIPTION COMMAND...
	local what=$1
	shift
	checks=$((checks + 1))
	if "$@"; then
		echo "ok: $what"
	else
		fail "$what"
		if declare -F check_failed >/dev/null; then
			check_failed
		fi
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
