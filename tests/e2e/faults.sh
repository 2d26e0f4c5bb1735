#!/usr/bin/env bash
# Fault tests: what a user keeps when things go wrong.
#
# - The process is killed with SIGKILL at random moments while it saves a
#   model file over and over (50 trials, seeded): the file on disk always
#   loads and is exactly the old state or the new one.
# - Saving to a full disk (a tmpfs 1.5 times the model file's size, where
#   one can be mounted), past
#   the file size limit, or to /dev/full fails with a message naming the
#   file and the reason, exits 1, and leaves the previous model file as it
#   was with no temporary file behind.
# - Ctrl-C (SIGINT) during `train --save` saves, exits 130, and the file
#   loads and resumes; a second Ctrl-C while it saves does not cut the save
#   short. (The same with the dashboard, and the terminal restored, is in
#   dash.sh.)
# - A data file that is missing, unreadable, a directory, or cut off while
#   it is being read is a clear error naming it; one that vanishes once
#   training has started changes nothing (the data is in memory).
#
# usage: faults.sh NNLAB SAVE_LOOP SOURCE_ROOT
set -uo pipefail

nnlab=$1
save_loop=$2
root=$3
tmp=$(mktemp -d)
mounted=
cleanup() {
	[[ -n $mounted ]] && umount "$mounted" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
export NO_COLOR=1

source "$(dirname "${BASH_SOURCE[0]}")/checks.sh"
ok() { echo "ok: $*"; }

# expect_in FILE TEXT, as in checks.sh, with an ok line for each text found.
expect_in() {
	checks=$((checks + 1))
	if grep -qF -- "$2" "$1"; then
		ok "$(head -c 160 "$1" | head -n 1)"
	else
		fail "$1 lacks '$2': $(head -c 400 "$1")"
	fi
}

quiet=(--no-tui --no-gui --threads 1)
train() { "$nnlab" train "${quiet[@]}" "$@"; }
# (A job started in the background runs "$nnlab" itself, so that $! is
# nnlab's own process id for the signals sent to it.)

# --- 1. SIGKILL during repeated saves ------------------------------------------------
RANDOM=20261129
trials=50
seen_a=0
seen_b=0
for ((i = 1; i <= trials; i++)); do
	model=$tmp/kill-$i.nnl
	# Removed first: a shell may start the job after this one reads its output.
	rm -f "$tmp/loop.out"
	"$save_loop" loop "$model" >"$tmp/loop.out" 2>"$tmp/loop.err" &
	pid=$!
	for _ in $(seq 3000); do
		[[ -s $tmp/loop.out ]] && break
		sleep 0.01
	done
	# 0 to 199 ms after the first save completed: anywhere in the middle of
	# a later write, fsync or rename.
	sleep "0.$(printf '%03d' $((RANDOM % 200)))"
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	checks=$((checks + 1))
	if ! state=$("$save_loop" check "$model" 2>"$tmp/check.err"); then
		fail "SIGKILL trial $i: $(cat "$tmp/check.err")"
		continue
	fi
	[[ $state == A ]] && seen_a=$((seen_a + 1))
	[[ $state == B ]] && seen_b=$((seen_b + 1))
	# What a kill leaves besides the model is at most its own temporary file.
	leftovers=$(find "$tmp" -maxdepth 1 -name "kill-$i.nnl.tmp.*" | wc -l)
	((leftovers <= 1)) || fail "SIGKILL trial $i left $leftovers temporary files"
	rm -f "$tmp/kill-$i.nnl"*
done
echo "ok: SIGKILL during saves, $trials trials: the file always loaded, $seen_a times the old state, $seen_b times the new"
checks=$((checks + 1))
((seen_a > 0 && seen_b > 0)) || fail "the kills never fell on both states (A $seen_a, B $seen_b)"

# --- 2. a full disk ----------------------------------------------------------------
train --model linear --epochs 1 --save "$tmp/keep.nnl" >/dev/null 2>&1 || fail "the first save failed"
cp "$tmp/keep.nnl" "$tmp/keep.copy"

# A real full file system: a tmpfs with room for one model file but not for
# the new one beside it. Mounting needs root or a user namespace.
small=$tmp/small
mkdir -p "$small"
train --model linear --optimizer adam --epochs 1 --save "$tmp/adam.nnl" >/dev/null 2>&1 || fail "the adam save failed"
kib=$(($(stat -c %s "$tmp/adam.nnl") * 3 / 2 / 1024))
if mount -t tmpfs -o size=${kib}k tmpfs "$small" 2>/dev/null; then
	mounted=$small
	cp "$tmp/adam.nnl" "$small/model.nnl"
	expect_exit 1 train --model linear --optimizer adam --epochs 1 --save "$small/model.nnl" &&
		expect_in "$tmp/err" "$small/model.nnl: cannot save the model: writing $small/model.nnl.tmp."
	expect_in "$tmp/err" "No space left on device"
	checks=$((checks + 1))
	cmp -s "$small/model.nnl" "$tmp/adam.nnl" || fail "a full disk changed the previous model file"
	checks=$((checks + 1))
	[[ -z $(find "$small" -name '*.tmp.*') ]] || fail "a full disk left a temporary file"
	expect_exit 0 "$nnlab" info "$small/model.nnl"
	umount "$small" && mounted=
else
	echo "note: cannot mount a tmpfs here; the file size limit below stands in for a full disk"
fi

# The file size limit makes a write fail halfway, as a full disk does.
(
	trap '' XFSZ
	ulimit -f 16
	train --model linear --epochs 1 --save "$tmp/keep.nnl" >"$tmp/out" 2>"$tmp/err"
	echo $? >"$tmp/code"
)
checks=$((checks + 1))
[[ $(cat "$tmp/code") == 1 ]] || fail "a save past the file size limit exited $(cat "$tmp/code"), expected 1"
expect_in "$tmp/err" "$tmp/keep.nnl: cannot save the model: writing $tmp/keep.nnl.tmp."
expect_in "$tmp/err" "File too large"
checks=$((checks + 1))
cmp -s "$tmp/keep.nnl" "$tmp/keep.copy" || fail "a failed save changed the previous model file"
checks=$((checks + 1))
[[ -z $(find "$tmp" -maxdepth 1 -name 'keep.nnl.tmp.*') ]] || fail "a failed save left a temporary file"

if [[ -c /dev/full ]]; then
	expect_exit 1 train --model linear --epochs 1 --save /dev/full &&
		expect_in "$tmp/err" "/dev/full: cannot save the model: No space left on device"
	checks=$((checks + 1))
	[[ -c /dev/full ]] || fail "/dev/full was replaced"
fi

# --- 3. Ctrl-C during training with --save -----------------------------------------
"$nnlab" train "${quiet[@]}" --model mlp --epochs 200 --save "$tmp/int.nnl" >"$tmp/int.out" 2>"$tmp/int.err" &
pid=$!
for _ in $(seq 600); do
	grep -Eq "epoch +1/200" "$tmp/int.out" && break
	sleep 0.05
done
kill -INT "$pid"
wait "$pid"
code=$?
checks=$((checks + 1))
[[ $code == 130 ]] || fail "train interrupted with --save exited $code, expected 130: $(cat "$tmp/int.err")"
expect_in "$tmp/int.out" "Interrupted at epoch"
expect_in "$tmp/int.out" "Saved $tmp/int.nnl"
expect_exit 0 "$nnlab" info "$tmp/int.nnl"
expect_exit 0 train --resume "$tmp/int.nnl" --epochs 2

# A second Ctrl-C while it saves: the save finishes, the file loads.
for round in 1 2 3; do
	rm -f "$tmp/int2.out"
	"$nnlab" train "${quiet[@]}" --model mlp --epochs 200 --save "$tmp/int2.nnl" >"$tmp/int2.out" 2>&1 &
	pid=$!
	for _ in $(seq 600); do
		grep -Eq "epoch +1/200" "$tmp/int2.out" && break
		sleep 0.05
	done
	kill -INT "$pid"
	sleep "0.00$round"
	kill -INT "$pid" 2>/dev/null
	wait "$pid"
	code=$?
	checks=$((checks + 1))
	[[ $code == 130 ]] || fail "two Ctrl-Cs (round $round): exit $code, expected 130"
	expect_exit 0 "$nnlab" info "$tmp/int2.nnl"
	rm -f "$tmp/int2.nnl"
done

# --- 4. data files that are missing, unreadable or cut off ------------------------
data=$tmp/data
mkdir -p "$data"
for f in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do
	gzip -dc "$root/data/mnist-small/$f.gz" >"$data/$f"
done

mv "$data/t10k-labels-idx1-ubyte" "$tmp/labels.saved"
expect_exit 2 train --model linear --epochs 1 --data "$data" &&
	expect_in "$tmp/err" "$data/t10k-labels-idx1-ubyte: cannot open: No such file or directory (nor $data/t10k-labels-idx1-ubyte.gz)"
mkdir "$data/t10k-labels-idx1-ubyte"
expect_exit 2 train --model linear --epochs 1 --data "$data" &&
	expect_in "$tmp/err" "$data/t10k-labels-idx1-ubyte: cannot read: Is a directory"
rmdir "$data/t10k-labels-idx1-ubyte"
mv "$tmp/labels.saved" "$data/t10k-labels-idx1-ubyte"

# Unreadable: permissions bind everyone but root, so as root the check runs
# as nobody.
chmod 000 "$data/train-images-idx3-ubyte"
as_user=()
if ((EUID == 0)) && command -v setpriv >/dev/null; then
	as_user=(setpriv --reuid=65534 --regid=65534 --clear-groups)
	chmod a+rx "$tmp"
fi
if ((EUID != 0)) || ((${#as_user[@]})); then
	expect_exit 2 "${as_user[@]}" "$nnlab" train --no-tui --no-gui --model linear --epochs 1 --data "$data" &&
		expect_in "$tmp/err" "$data/train-images-idx3-ubyte: cannot open: Permission denied"
fi
chmod 644 "$data/train-images-idx3-ubyte"

# Cut off while it is read: the file is a pipe whose writer stops halfway
# through the images, as when a file vanishes from a network mount.
mv "$data/train-images-idx3-ubyte" "$tmp/images.saved"
mkfifo "$data/train-images-idx3-ubyte"
head -c 1000000 "$tmp/images.saved" >"$data/train-images-idx3-ubyte" &
expect_exit 2 train --model linear --epochs 1 --data "$data" &&
	expect_in "$tmp/err" "$data/train-images-idx3-ubyte: truncated: expected 6272000 bytes of data, found 999984"
wait
rm "$data/train-images-idx3-ubyte"
mv "$tmp/images.saved" "$data/train-images-idx3-ubyte"

# Vanished once training has started: the data set is in memory, so the run
# finishes and evaluates as usual.
"$nnlab" train "${quiet[@]}" --model linear --epochs 3 --data "$data" >"$tmp/gone.out" 2>&1 &
pid=$!
for _ in $(seq 600); do
	grep -Eq "epoch +1/3" "$tmp/gone.out" && break
	sleep 0.02
done
rm -rf "$data"
wait "$pid"
code=$?
checks=$((checks + 1))
[[ $code == 0 ]] || fail "training whose data directory was removed exited $code: $(tail -n 3 "$tmp/gone.out")"
expect_in "$tmp/gone.out" "epoch 3/3"

# The directory to save into vanishes during training: the save fails
# clearly, exit 1.
mkdir -p "$tmp/out-dir"
"$nnlab" train "${quiet[@]}" --model linear --epochs 200 --save "$tmp/out-dir/m.nnl" >"$tmp/vanish.out" 2>"$tmp/vanish.err" &
pid=$!
for _ in $(seq 600); do
	grep -Eq "epoch +1/200" "$tmp/vanish.out" && break
	sleep 0.02
done
rm -rf "$tmp/out-dir"
kill -INT "$pid"
wait "$pid"
code=$?
checks=$((checks + 1))
[[ $code == 1 ]] || fail "saving into a removed directory exited $code, expected 1"
expect_in "$tmp/vanish.err" "$tmp/out-dir/m.nnl: cannot save the model: cannot create $tmp/out-dir/m.nnl.tmp."
expect_in "$tmp/vanish.err" "No such file or directory"

echo "$checks checks, $failures failed"
((failures == 0))
