#!/usr/bin/env bash
# Memory checking of the everyday commands under valgrind: a short `train`
# (with --save), `eval`, `info` and `predict` on images and strokes must
# make no invalid read or write, use no uninitialised value and leak no
# memory definitely (valgrind's "definitely lost"; the batch helper thread
# is never joined, so its stack shows as "possibly lost", which is allowed).
#
# usage: valgrind.sh NNLAB SOURCE_ROOT
# Exits 77 (skipped) when valgrind is not installed.
set -uo pipefail

nnlab=$1
root=$2
if ! command -v valgrind >/dev/null 2>&1; then
	echo "SKIP: valgrind is not installed (script/bootstrap installs it)"
	exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export OPENBLAS_NUM_THREADS=1 NO_COLOR=1 DISPLAY= WAYLAND_DISPLAY=
failures=0

# vg NAME STATUS ARGS...: run nnlab ARGS under memcheck, expecting exit
# STATUS; any memcheck error fails.
vg() {
	local name=$1 want=$2
	shift 2
	valgrind --leak-check=full --errors-for-leak-kinds=definite --show-leak-kinds=definite \
		--error-exitcode=99 --log-file="$tmp/$name.vg" "$nnlab" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err"
	local code=$?
	local summary
	summary=$(grep -E 'ERROR SUMMARY|definitely lost' "$tmp/$name.vg" | sed 's/^==[0-9]*== //' | tr '\n' ' ')
	if [[ $code != "$want" ]]; then
		echo "FAIL: $name exited $code (expected $want): $summary"
		sed 's/^==[0-9]*== //' "$tmp/$name.vg" | head -n 60
		tail -n 5 "$tmp/$name.err"
		failures=$((failures + 1))
	else
		echo "ok: $name: $summary"
	fi
}

images=$root/tests/fuzz/corpus/image
vg train 0 train --no-tui --no-gui --model linear --epochs 1 --data "$root/data/mnist-small" --save "$tmp/m.nnl"
vg eval 0 eval "$tmp/m.nnl" --data "$root/data/mnist-small"
vg info 0 info "$tmp/m.nnl"
vg predict 0 predict "$tmp/m.nnl" "$images/digit.png" "$images/digit.jpg" "$images/digit-alpha.png" --json
vg predict-strokes 0 predict "$tmp/m.nnl" --strokes "$root/tests/fuzz/corpus/strokes/small" --json
# Error paths free what they allocated too.
vg bad-model 2 eval "$root/tests/fuzz/corpus/checkpoint/tiny-adam-cut" --data "$root/data/mnist-small"
mkdir "$tmp/cut"
cp "$root"/data/mnist-small/* "$tmp/cut/"
gzip -dc "$root/data/mnist-small/t10k-images-idx3-ubyte.gz" | head -c 100000 >"$tmp/cut/t10k-images-idx3-ubyte"
vg bad-data 2 train --no-tui --no-gui --model linear --epochs 1 --data "$tmp/cut"
printf 'input 1x28x28\ndense 10 x\n' >"$tmp/bad.spec"
vg bad-spec 2 train --no-tui --no-gui --model "$tmp/bad.spec"
vg bad-image 2 predict "$tmp/m.nnl" "$root/tests/fuzz/corpus/strokes/small"
((failures == 0))
