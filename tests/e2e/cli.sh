#!/usr/bin/env bash
# End-to-end checks of the nnlab command line: help, usage errors and their
# exit codes, error messages that name the file and place, --json output,
# run-to-run determinism, and the preset accuracies on the bundled digits.
#
# usage: cli.sh NNLAB SOURCE_ROOT
set -uo pipefail

nnlab=$1
root=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
checks=0

fail() {
	echo "FAIL: $*"
	failures=$((failures + 1))
}

# expect_exit CODE CMD...: run CMD, capture stdout/stderr, check the code.
expect_exit() {
	local want=$1
	shift
	checks=$((checks + 1))
	"$@" >"$tmp/out" 2>"$tmp/err"
	local got=$?
	if [[ $got != "$want" ]]; then
		fail "'$*' exited $got, expected $want; stderr: $(head -c 300 "$tmp/err")"
		return 1
	fi
}

# expect_in FILE TEXT: FILE contains TEXT.
expect_in() {
	checks=$((checks + 1))
	grep -qF -- "$2" "$1" || fail "$1 lacks '$2': $(head -c 300 "$1")"
}

json_field() { # json_field FILE KEY
	python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"
}

# --- help and usage -----------------------------------------------------------
expect_exit 0 "$nnlab" --help && expect_in "$tmp/out" "Usage: nnlab"
expect_exit 0 "$nnlab" train --help && expect_in "$tmp/out" "Examples:"
expect_exit 0 "$nnlab" gradcheck --help && expect_in "$tmp/out" "central differences"
expect_exit 0 "$nnlab" help train && expect_in "$tmp/out" "--weight-decay"
expect_exit 2 "$nnlab" frobnicate && expect_in "$tmp/err" "no command 'frobnicate'"
expect_exit 2 "$nnlab" train --frobnicate && expect_in "$tmp/err" "unknown option '--frobnicate'"
expect_exit 2 "$nnlab" train --lr && expect_in "$tmp/err" "--lr needs a value"
expect_exit 2 "$nnlab" train --lr banana && expect_in "$tmp/err" "'banana' is not a number"
expect_exit 2 "$nnlab" train --optimizer lbfgs && expect_in "$tmp/err" "sgd|momentum|adam|rmsprop"
expect_exit 2 "$nnlab" train --epochs 0 && expect_in "$tmp/err" "out of range"
expect_exit 2 "$nnlab" train --model no-such-model && expect_in "$tmp/err" "no model 'no-such-model'"

# --- bad input files ---------------------------------------------------------------
printf 'input 1x28x28\ndense 10\nsoftmax_xent extra\n' >"$tmp/bad.spec"
expect_exit 2 "$nnlab" train --model "$tmp/bad.spec" && expect_in "$tmp/err" "bad.spec:3:14: unexpected 'extra'"
printf 'input 1x28y28\n' >"$tmp/bad2.spec"
expect_exit 2 "$nnlab" train --model "$tmp/bad2.spec" && expect_in "$tmp/err" "bad2.spec:1:11: expected 'x'"
printf 'input 1x28x28\ndense 10\nsoftmax_xent\n' >"$tmp/ok.spec"
expect_exit 2 "$nnlab" train --model "$tmp/ok.spec" --data "$tmp/nowhere" && expect_in "$tmp/err" "$tmp/nowhere"
mkdir -p "$tmp/baddata"
cp "$root"/data/mnist-small/* "$tmp/baddata/"
printf '\x00\x00\x08\x01\x00\x00\x00\x05' | gzip >"$tmp/baddata/t10k-labels-idx1-ubyte.gz"
expect_exit 2 "$nnlab" train --model "$tmp/ok.spec" --data "$tmp/baddata" && expect_in "$tmp/err" "t10k-labels-idx1-ubyte"

# --- gradcheck -----------------------------------------------------------------------
expect_exit 0 "$nnlab" gradcheck --model mlp --json
python3 - "$tmp/out" <<'PY' || fail "gradcheck --json"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["passed"] is True
ops = {o["op"]: o["max_rel_error"] for o in d["ops"]}
for op in ["matmul", "bias", "relu", "tanh", "sigmoid", "dropout", "reshape", "softmax_xent", "sigmoid_bce", "mse",
           "conv2d", "maxpool", "avgpool", "lstm", "gaussian", "kl", "add"]:
    assert ops[op] < 1e-3, (op, ops[op])
assert len(d["tensors"]) == 4
PY
checks=$((checks + 1))
for model in lenet lstm vae; do
	expect_exit 0 "$nnlab" gradcheck --model "$model" && expect_in "$tmp/out" "All gradients agree."
done

# --- convolutional, recurrent and variational specs ------------------------------
printf 'input 1x28x28\nconv 6 5y5\nsoftmax_xent\n' >"$tmp/badconv.spec"
expect_exit 2 "$nnlab" train --model "$tmp/badconv.spec" && expect_in "$tmp/err" "badconv.spec:2:8: expected a window size"
printf 'input 784\nlstm 8\nmaxpool 2\ndense 10\nsoftmax_xent\n' >"$tmp/badpool.spec"
expect_exit 2 "$nnlab" train --model "$tmp/badpool.spec" && expect_in "$tmp/err" "badpool.spec:3: maxpool1: pooling needs images"
expect_exit 2 "$nnlab" train --model mlp --sample-grid "$tmp/none.png" && expect_in "$tmp/err" "no latent code"

# --- training: json, determinism, accuracy ------------------------------------------------
run_json() { # run_json OUT ARGS...
	local out=$1
	shift
	"$nnlab" train --no-tui --no-gui --json --seed 1 --threads 1 "$@" >"$out" 2>"$tmp/progress"
}
run_json "$tmp/a.json" --model mlp --epochs 2 || fail "train --json exited $?"
run_json "$tmp/b.json" --model mlp --epochs 2 || fail "train --json exited $?"
python3 - "$tmp/a.json" "$tmp/b.json" <<'PY' || fail "--json determinism"
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
for key in ["model", "params", "epochs", "seed", "train_loss", "test_loss", "test_accuracy", "samples_per_sec", "seconds"]:
    assert key in a, key
times = {"samples_per_sec", "seconds", "train_seconds"}
strip = lambda d: {k: ([{kk: vv for kk, vv in e.items() if kk != "seconds"} for e in v] if k == "history" else v)
                   for k, v in d.items() if k not in times}
assert strip(a) == strip(b), (strip(a), strip(b))
assert a["params"] == 784 * 128 + 128 + 128 * 10 + 10
assert 0 < a["test_accuracy"] <= 1
PY
checks=$((checks + 1))
expect_in "$tmp/progress" "epoch 2/2"

"$nnlab" train --no-tui --model linear --epochs 1 --log "$tmp/run.csv" >/dev/null 2>&1 || fail "train --log"
expect_in "$tmp/run.csv" "kind,step,epoch,loss,accuracy,lr,test_loss,test_accuracy"
checks=$((checks + 1))
[[ $(grep -c '^step,' "$tmp/run.csv") == 125 ]] || fail "--log: expected 125 step rows (8000/64)"
[[ $(grep -c '^epoch,' "$tmp/run.csv") == 1 ]] || fail "--log: expected 1 epoch row"

# lenet is the default model; one epoch of it, of lstm and of vae.
run_json "$tmp/lenet.json" --epochs 1 || fail "train (default model) exited $?"
python3 - "$tmp/lenet.json" <<'PY' || fail "one epoch of lenet"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["model"] == "lenet", d["model"]
assert d["params"] == 61706, d["params"]
assert d["test_accuracy"] >= 0.9, d["test_accuracy"]
print("lenet, 1 epoch: test accuracy", d["test_accuracy"])
PY
checks=$((checks + 1))
run_json "$tmp/lstm.json" --model lstm --epochs 1 || fail "train --model lstm exited $?"
python3 - "$tmp/lstm.json" <<'PY' || fail "one epoch of lstm"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["test_accuracy"] >= 0.6, d["test_accuracy"]
print("lstm, 1 epoch: test accuracy", d["test_accuracy"])
PY
checks=$((checks + 1))
run_json "$tmp/vae.json" --model vae --epochs 2 --sample-grid "$tmp/grid.png" || fail "train --model vae exited $?"
expect_in "$tmp/progress" "negative ELBO"
python3 - "$tmp/vae.json" "$tmp/grid.png" <<'PY' || fail "two epochs of vae"
import json, struct, sys
d = json.load(open(sys.argv[1]))
assert d["test_accuracy"] is None, d["test_accuracy"]
losses = [e["test_loss"] for e in d["history"]]
assert losses[1] < losses[0] < 220, losses
png = open(sys.argv[2], "rb").read()
assert png[:8] == b"\x89PNG\r\n\x1a\n"
assert struct.unpack(">II", png[16:24]) == (560, 560)  # 20x20 digits of 28x28
print("vae, 2 epochs: negative ELBO", losses)
PY
checks=$((checks + 1))

# --flip mirrors training images: a different run, while --flip=0 draws as before.
run_json "$tmp/flip.json" --model linear --epochs 1 --flip || fail "train --flip exited $?"
run_json "$tmp/noflip.json" --model linear --epochs 1 --flip=0 || fail "train --flip=0 exited $?"
run_json "$tmp/plain.json" --model linear --epochs 1 || fail "train exited $?"
python3 - "$tmp/flip.json" "$tmp/noflip.json" "$tmp/plain.json" <<'PY' || fail "--flip"
import json, sys
flip, noflip, plain = (json.load(open(p)) for p in sys.argv[1:4])
assert flip["train_loss"] != plain["train_loss"]
assert noflip["train_loss"] == plain["train_loss"]
PY
checks=$((checks + 1))

# The figures the presets promise (seed 1, preset defaults).
for want in "linear 0.90" "mlp 0.955" "mlp-tanh 0.93"; do
	read -r model floor <<<"$want"
	checks=$((checks + 1))
	if run_json "$tmp/$model.json" --model "$model"; then
		acc=$(json_field "$tmp/$model.json" test_accuracy)
		python3 -c "import sys; sys.exit(0 if $acc >= $floor else 1)" ||
			fail "$model reached $acc test accuracy, expected >= $floor"
		echo "$model: test accuracy $acc (floor $floor)"
	else
		fail "$model training failed"
	fi
done

echo "$((checks - failures)) of $checks checks passed"
((failures == 0))
