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

source "$(dirname "${BASH_SOURCE[0]}")/checks.sh"

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

# --- bench ------------------------------------------------------------------------------
expect_exit 0 "$nnlab" bench --presets linear,mlp --batches 16 --reps 1 --seconds 0.05 --json
python3 - "$tmp/out" <<'PY' || fail "bench --json"
import json, sys
d = json.load(open(sys.argv[1]))
assert [p["preset"] for p in d["presets"]] == ["linear", "mlp"]
mlp = d["presets"][1]
assert mlp["params"] == 101770
t = mlp["training"][0]
assert t["batch"] == 16 and t["samples_per_sec"] > 0 and t["sgemm_bound_per_sec"] > 0
# forward + weight gradients of both layers + the second layer's input gradient
assert t["flops_per_sample"] == 2 * (784 * 128 + 128 * 10) * 2 + 2 * 128 * 10, t["flops_per_sample"]
assert 0 < mlp["infer_median_us"] <= mlp["infer_p99_us"] and mlp["peak_rss_mb"] > 1
PY
checks=$((checks + 1))
expect_exit 2 "$nnlab" bench --batches 0

# --- search --------------------------------------------------------------------------
expect_exit 0 "$nnlab" search --help && expect_in "$tmp/out" "one at a time with 2"
expect_exit 2 "$nnlab" search && expect_in "$tmp/err" "no search space"
expect_exit 2 "$nnlab" search --grid 'lr=banana' && expect_in "$tmp/err" "'lr=banana': lr: 'banana' is not a number"
expect_exit 2 "$nnlab" search --grid 'lr=0.1,,0.2' && expect_in "$tmp/err" "empty value"
expect_exit 2 "$nnlab" search --grid 'wibble=1,2' && expect_in "$tmp/err" "unknown hyperparameter 'wibble'"
expect_exit 2 "$nnlab" search --grid 'lr' && expect_in "$tmp/err" "expected key=values"
expect_exit 2 "$nnlab" search --random 5 'lr=0.1..0.01:log' && expect_in "$tmp/err" "empty range"
expect_exit 2 "$nnlab" search --random 5 'lr=0.1..0.1' && expect_in "$tmp/err" "empty range"
expect_exit 2 "$nnlab" search --grid 'lr=1e-3..1e-1:log' && expect_in "$tmp/err" "ranges need --random"
expect_exit 2 "$nnlab" search --random 0 'lr=1e-3..1e-1' && expect_in "$tmp/err" "--random"
expect_exit 2 "$nnlab" search --grid 'lr=0.1,0.2' --lr 0.3 && expect_in "$tmp/err" "both set"
expect_exit 2 "$nnlab" search --grid 'model=mlp,no-such-model' && expect_in "$tmp/err" "no model 'no-such-model'"
expect_exit 2 "$nnlab" search --grid 'lr=0.1,0.2' --halving --keep 2 && expect_in "$tmp/err" "--keep"

# A tiny grid; its best trial's figures are exactly those of train with its options.
if "$nnlab" search --grid 'lr=0.05,0.5 batch=32,64' --model linear --epochs 1 --json >"$tmp/search.json" 2>"$tmp/search.err"; then
	python3 - "$tmp/search.json" >"$tmp/best.args" <<'PY' || fail "search --json"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["mode"] == "grid" and len(d["trials"]) == 4, d
assert [t["params"] for t in d["trials"]] == [{"lr": 0.05, "batch": 32}, {"lr": 0.05, "batch": 64},
                                             {"lr": 0.5, "batch": 32}, {"lr": 0.5, "batch": 64}]
for t in d["trials"]:
    assert t["state"] == "done" and t["epochs"] == 1 and 0 < t["test_accuracy"] <= 1, t
    assert len(t["test_accuracy_per_epoch"]) == 1
best = max(d["trials"], key=lambda t: t["test_accuracy"])
assert d["best"]["trial"] == best["trial"] and d["best"]["test_accuracy"] == best["test_accuracy"]
cmd = d["best"]["command"].split()
assert cmd[:2] == ["nnlab", "train"], cmd
print(d["best"]["test_accuracy"])
print(" ".join(cmd[2:]))
PY
	checks=$((checks + 1))
	want=$(sed -n 1p "$tmp/best.args")
	read -ra args <<<"$(sed -n 2p "$tmp/best.args")"
	if "$nnlab" train --no-tui --json "${args[@]}" >"$tmp/best.json" 2>/dev/null; then
		got=$(json_field "$tmp/best.json" test_accuracy)
		[[ $got == "$want" ]] || fail "search best $want but train with its options gave $got"
	else
		fail "train with the best trial's options"
	fi
	checks=$((checks + 1))
else
	fail "search exited $?: $(head -c 300 "$tmp/search.err")"
fi
"$nnlab" search --grid 'lr=0.05,0.5' --model linear --epochs 1 --save-best "$tmp/best.nnl" --json >"$tmp/sb.json" 2>/dev/null ||
	fail "search --save-best exited $?"
expect_exit 0 "$nnlab" eval "$tmp/best.nnl" --json
python3 - "$tmp/sb.json" "$tmp/out" <<'PY' || fail "search --save-best: eval differs from the search's best"
import json, sys
s, e = (json.load(open(p)) for p in sys.argv[1:3])
assert e["accuracy"] == s["best"]["test_accuracy"], (e["accuracy"], s["best"])
PY
checks=$((checks + 1))
"$nnlab" search --random 3 'lr=1e-3..1:log' --halving --model linear --epochs 2 >"$tmp/halving.out" 2>&1 ||
	fail "search --halving exited $?"
expect_in "$tmp/halving.out" "successive halving: 3 trials to epoch 1, 1 trial to epoch 2"
expect_in "$tmp/halving.out" "cut after 1 epoch"
"$nnlab" search --grid 'lr=0.05,0.5' --model linear --epochs 2 --plot "$tmp/search.png" >/dev/null 2>&1 ||
	fail "search --plot exited $?"
checks=$((checks + 1))
[[ $(head -c 8 "$tmp/search.png" | od -An -tx1 | tr -d ' \n') == 89504e470d0a1a0a ]] || fail "search --plot: not a PNG file"

# --- prune and quantize -----------------------------------------------------------------
"$nnlab" train --no-tui --model mlp --epochs 2 --threads 1 --save "$tmp/small.nnl" >/dev/null 2>&1 || fail "train --save for prune"
expect_exit 0 "$nnlab" prune --help && expect_in "$tmp/out" "Examples:"
expect_exit 0 "$nnlab" quantize --help && expect_in "$tmp/out" "int8"
expect_exit 2 "$nnlab" prune "$tmp/small.nnl" -o "$tmp/p.nnl" && expect_in "$tmp/err" "--sparsity"
expect_exit 2 "$nnlab" prune "$tmp/small.nnl" --sparsity 1.5 -o "$tmp/p.nnl" && expect_in "$tmp/err" "'1.5' is not a fraction"
expect_exit 2 "$nnlab" prune "$tmp/small.nnl" --sparsity 0.5 && expect_in "$tmp/err" "-o OUT"
expect_exit 2 "$nnlab" prune "$root/assets/models/mlp.spec" --sparsity 0.5 -o "$tmp/p.nnl" &&
	expect_in "$tmp/err" "not an nnlab model file"
expect_exit 2 "$nnlab" quantize "$root/data/mnist-small/t10k-labels-idx1-ubyte.gz" -o "$tmp/q.nnl" &&
	expect_in "$tmp/err" "not an nnlab model file"
expect_exit 2 "$nnlab" quantize "$tmp/small.nnl" && expect_in "$tmp/err" "-o OUT"
expect_exit 2 "$nnlab" quantize "$tmp/small.nnl" -o "$tmp/q.nnl" --calibrate 0 && expect_in "$tmp/err" "--calibrate"
expect_exit 0 "$nnlab" prune "$tmp/small.nnl" --sparsity 0.9 --finetune 1 -o "$tmp/p.nnl" --json
python3 - "$tmp/out" "$tmp/p.nnl" <<'PY' || fail "prune --json"
import json, os, sys
d = json.load(open(sys.argv[1]))
assert abs(d["sparsity"] - 0.9) < 1e-4 and d["pruned"] == round(0.9 * d["weights"]), d
assert d["size_after"] == os.path.getsize(sys.argv[2])
assert d["size_dense"] >= 3 * d["size_after"] and d["size_before"] > d["size_dense"], d
assert 0 < d["accuracy_after"] <= 1 and d["accuracy_pruned"] <= d["accuracy_before"]
# distilled from the unpruned model by default; mlp trains with momentum, so its own lr
assert d["distill"] is True and d["temperature"] == 8 and d["distill_weight"] == 0.9, d
assert abs(d["finetune_lr"] - 0.1) < 1e-6, d
assert d["criterion"] == "lamp", d
PY
checks=$((checks + 1))
cp "$tmp/out" "$tmp/p.json"
expect_exit 0 "$nnlab" prune "$tmp/small.nnl" --sparsity 0.9 --finetune 1 --no-distill --criterion magnitude \
	-o "$tmp/p2.nnl" --json
python3 -c 'import json,sys; d=json.load(open(sys.argv[1]))
assert d["distill"] is False and "temperature" not in d and d["criterion"] == "magnitude", d' \
	"$tmp/out" || fail "prune --no-distill --criterion magnitude --json"
checks=$((checks + 1))
expect_exit 2 "$nnlab" prune "$tmp/small.nnl" --sparsity 0.9 --temperature 0 -o "$tmp/p2.nnl" &&
	expect_in "$tmp/err" "is not a temperature"
expect_exit 0 "$nnlab" eval "$tmp/p.nnl" --json
python3 -c 'import json,sys; a=json.load(open(sys.argv[1]))["accuracy"]; b=json.load(open(sys.argv[2]))["accuracy_after"]; assert a == b, (a, b)' \
	"$tmp/out" "$tmp/p.json" || fail "eval of a pruned file differs from prune's figure"
checks=$((checks + 1))
expect_exit 0 "$nnlab" info "$tmp/p.nnl" && expect_in "$tmp/out" "format 1.1"
expect_exit 0 "$nnlab" quantize "$tmp/small.nnl" -o "$tmp/q.nnl" --json
cp "$tmp/out" "$tmp/q.json"
python3 - "$tmp/q.json" "$tmp/q.nnl" <<'PY' || fail "quantize --json"
import json, os, sys
d = json.load(open(sys.argv[1]))
assert d["int8_layers"] == 2 and d["size_after"] == os.path.getsize(sys.argv[2])
assert d["size_dense"] >= 3.5 * d["size_after"], d
assert abs(d["accuracy_after"] - d["accuracy_before"]) <= 0.01, d
assert d["float_samples_per_sec_batch1"] > 0 and d["int8_samples_per_sec_batch1"] > 0
PY
checks=$((checks + 1))
expect_exit 0 "$nnlab" eval "$tmp/q.nnl" --json
python3 - "$tmp/out" "$tmp/q.json" <<'PY' || fail "eval of an int8 file"
import json, sys
e, q = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
assert e["int8"] is True and e["accuracy"] == q["accuracy_after"], (e["accuracy"], q["accuracy_after"])
PY
checks=$((checks + 1))
# predict runs the int8 layers too: its labels for the drawn digits agree with the float model's.
"$nnlab" predict "$tmp/small.nnl" --strokes "$root/tests/data/digits.strokes" --json >"$tmp/pf.json" 2>/dev/null &&
	"$nnlab" predict "$tmp/q.nnl" --strokes "$root/tests/data/digits.strokes" --json >"$tmp/pq.json" 2>/dev/null ||
	fail "predict with the float or the int8 model"
python3 - "$tmp/pf.json" "$tmp/pq.json" <<'PY' || fail "predict: the int8 model disagrees with the float one"
import json, sys
f, q = (json.load(open(p)) for p in sys.argv[1:3])
assert len(f) == len(q) == 200
same = sum(a["label"] == b["label"] for a, b in zip(f, q))
assert same >= 190, same
PY
checks=$((checks + 1))
expect_exit 2 "$nnlab" quantize "$tmp/q.nnl" -o "$tmp/qq.nnl" && expect_in "$tmp/err" "already an int8 model"
expect_exit 2 "$nnlab" prune "$tmp/q.nnl" --sparsity 0.5 -o "$tmp/qp.nnl" && expect_in "$tmp/err" "is an int8 model"

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

checks=$((checks + 1))
"$nnlab" train --no-tui --model linear --epochs 2 --plot "$tmp/run.png" >/dev/null 2>&1 || fail "train --plot"
[[ $(head -c 8 "$tmp/run.png" | od -An -tx1 | tr -d ' \n') == 89504e470d0a1a0a ]] || fail "--plot: not a PNG file"
expect_exit 1 "$nnlab" train --no-tui --model linear --epochs 1 --plot "$tmp/no/such/dir/run.png" &&
	expect_in "$tmp/err" "$tmp/no/such/dir/run.png"

# --- model files: save, resume, eval, info --------------------------------------------------
# Keras' initial_epoch: --epochs 4 in one run, or 2 then --resume to 4 in total, give the same
# figures (a constant schedule, since cosine spans each run's own --epochs).
strip_times='
import json, sys
def strip(path):
    d = json.load(open(path))
    for k in ["seconds", "samples_per_sec", "train_seconds"]:
        d.pop(k)
    for e in d["history"]:
        e.pop("seconds")
    return d
'
run_json "$tmp/four.json" --model mlp --schedule constant --epochs 4 || fail "train --epochs 4 exited $?"
run_json "$tmp/two.json" --model mlp --schedule constant --epochs 2 --save "$tmp/two.nnl" ||
	fail "train --save exited $?"
expect_in "$tmp/progress" "Saved $tmp/two.nnl (2 epochs done, step 250)"
"$nnlab" train --no-tui --json --threads 1 --resume "$tmp/two.nnl" --epochs 4 --save "$tmp/four.nnl" \
	>"$tmp/resumed.json" 2>"$tmp/progress" || fail "train --resume exited $?"
expect_in "$tmp/progress" "Resuming mlp from $tmp/two.nnl at epoch 3/4, step 250"
python3 -c "$strip_times"'
a, b = strip(sys.argv[1]), strip(sys.argv[2])
assert a == b, (a, b)
assert a["epochs"] == 4 and a["steps"] == 500 and len(a["history"]) == 4
' "$tmp/four.json" "$tmp/resumed.json" || fail "--epochs 4 and --epochs 2 + --resume --epochs 4 differ"
checks=$((checks + 1))

# eval reports what train reported for the same weights
expect_exit 0 "$nnlab" eval "$tmp/four.nnl" --json
python3 - "$tmp/out" "$tmp/resumed.json" <<'PY' || fail "eval --json"
import json, sys
e, t = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
assert 0 <= e["accuracy"] <= 1
assert e["accuracy"] == t["test_accuracy"], (e["accuracy"], t["test_accuracy"])
assert e["loss"] == t["test_loss"], (e["loss"], t["test_loss"])
assert len(e["per_class_accuracy"]) == 10
c = e["confusion"]
assert len(c) == 10 and all(len(row) == 10 for row in c)
assert sum(map(sum, c)) == e["count"] == 2000
assert abs(sum(c[i][i] for i in range(10)) / 2000 - e["accuracy"]) < 1e-12
for i in range(10):
    assert abs(e["per_class_accuracy"][i] - c[i][i] / sum(c[i])) < 1e-9
PY
checks=$((checks + 1))
expect_exit 0 "$nnlab" eval "$tmp/four.nnl" && expect_in "$tmp/out" "Confusion matrix (rows: true class"
expect_exit 0 "$nnlab" eval "$tmp/four.nnl" --data "$root/data/mnist-small" && expect_in "$tmp/out" "accuracy"
expect_exit 0 "$nnlab" eval --help && expect_in "$tmp/out" "Examples:"
expect_exit 0 "$nnlab" info --help && expect_in "$tmp/out" "Examples:"
expect_exit 0 "$nnlab" info "$tmp/four.nnl" && expect_in "$tmp/out" "format 1.0"
expect_in "$tmp/out" "dense1           128                100480"
expect_in "$tmp/out" "total                               101770"
expect_in "$tmp/out" "optimizer=momentum lr=0.1"
expect_in "$tmp/out" "4 (step 500), resumable"
expect_exit 0 "$nnlab" info "$tmp/four.nnl" --json
python3 - "$tmp/out" "$tmp/resumed.json" "$tmp/four.nnl" <<'PY' || fail "info --json"
import json, os, sys
i, t = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
assert i["params"] == 101770 and i["format_version"] == "1.0" and i["model"] == "mlp"
assert i["size"] == os.path.getsize(sys.argv[3])
assert [l["params"] for l in i["layers"]] == [0, 100480, 0, 1290, 0]
assert i["training"]["epochs"] == 4 and i["training"]["test_accuracy"] == t["test_accuracy"]
assert i["hparams"]["optimizer"] == "momentum" and i["hparams"]["epochs"] == 4
PY
checks=$((checks + 1))

# damaged and wrong model files: exit 2 with the file, the offset and what was wrong
head -c 1000 "$tmp/four.nnl" >"$tmp/cut.nnl"
expect_exit 2 "$nnlab" info "$tmp/cut.nnl" && expect_in "$tmp/err" "$tmp/cut.nnl: offset "
expect_in "$tmp/err" "truncated in"
python3 -c 'import sys; d = bytearray(open(sys.argv[1], "rb").read()); d[len(d) // 2] ^= 8
open(sys.argv[2], "wb").write(d)' "$tmp/four.nnl" "$tmp/flipped.nnl"
expect_exit 2 "$nnlab" eval "$tmp/flipped.nnl" && expect_in "$tmp/err" "checksum mismatch"
expect_exit 2 "$nnlab" train --resume "$tmp/flipped.nnl" && expect_in "$tmp/err" "$tmp/flipped.nnl"
expect_exit 2 "$nnlab" eval "$root/assets/models/mlp.spec" && expect_in "$tmp/err" "not an nnlab model file"
expect_exit 2 "$nnlab" eval && expect_in "$tmp/err" "which model?"

# --- info on presets and specs; the computational graph ----------------------------------
expect_exit 0 "$nnlab" info "$root/assets/models/mlp.spec" && expect_in "$tmp/out" "total                               101770"
expect_in "$tmp/out" "optimizer=momentum lr=0.1"
expect_exit 0 "$nnlab" info lstm --json
python3 - "$tmp/out" <<'PY' || fail "info lstm --json"
import json, sys
i = json.load(open(sys.argv[1]))
assert i["model"] == "lstm" and i["params"] == 81674, i
assert [l["params"] for l in i["layers"]] == [0, 80384, 1290, 0], i["layers"]
PY
checks=$((checks + 1))
printf 'input 1x28x28\ndense 10\nsoftmax_xent\n' >"$tmp/tiny.spec"
expect_exit 0 "$nnlab" info "$tmp/tiny.spec" && expect_in "$tmp/out" "Model tiny (from $tmp/tiny.spec)"
printf '\177ELF, not a model\n' >"$tmp/junk.bin"
expect_exit 2 "$nnlab" info "$tmp/junk.bin" && expect_in "$tmp/err" "$tmp/junk.bin:1:"
expect_exit 0 env LANG=C.UTF-8 LC_ALL=C.UTF-8 "$nnlab" info lenet --graph &&
	expect_in "$tmp/out" "lenet: 27 nodes (17 inputs and ops, 10 parameter tensors), 61,706 parameters"
expect_in "$tmp/out" "│ conv1       conv2d 5x5 pad 2  N×6×28×28      156 params │"
expect_in "$tmp/out" "│             weight 6×1×5×5, bias 6 "
expect_in "$tmp/out" "│             weight 16×6×5×5, bias 16 "
expect_in "$tmp/out" "│ loss        softmax_xent      scalar                    │◀─┘"
python3 - "$tmp/out" <<'PY' || fail "info lenet --graph: 17 boxes, 15 arrows"
import sys
lines = open(sys.argv[1], encoding="utf-8").read().splitlines()
boxes = [l for l in lines if l.startswith("│ ") and l[2] != " "]
assert len(boxes) == 17, len(boxes)
assert sum(l.strip().startswith("▼") for l in lines) == 15
assert [b.split()[1] for b in boxes[:4]] == ["target", "input", "conv1", "relu1"], boxes[:4]
PY
checks=$((checks + 1))
expect_exit 0 env LANG=C LC_ALL=C "$nnlab" info lenet --graph && expect_in "$tmp/out" "| conv1       conv2d 5x5 pad 2  Nx6x28x28"
checks=$((checks + 1))
LC_ALL=C grep -q '[^ -~]' "$tmp/out" && fail "info --graph in the C locale is not ASCII"
expect_exit 0 env LANG=C.UTF-8 LC_ALL=C.UTF-8 "$nnlab" info vae --graph --ascii && expect_in "$tmp/out" "| gaussian1.kl "
expect_exit 0 "$nnlab" info "$tmp/four.nnl" --graph && expect_in "$tmp/out" "mlp: 12 nodes (8 inputs and ops, 4 parameter tensors), 101,770 parameters"
for model in lenet vae lstm; do
	expect_exit 0 "$nnlab" info "$model" --dot "$tmp/$model.dot"
	python3 - "$tmp/$model.dot" <<'PY' || fail "info --dot: $tmp/$model.dot is not well formed"
import re, sys
text = open(sys.argv[1], encoding="utf-8").read()
assert text.startswith('digraph "') and text.rstrip().endswith("}")
depth = 0
for c in text:
    depth += {"{": 1, "}": -1}.get(c, 0)
    assert depth >= 0
assert depth == 0
nodes = set(re.findall(r"^  (n\d+) \[label=", text, re.M))
edges = re.findall(r"^  (n\d+) -> (n\d+);$", text, re.M)
assert nodes and edges
assert all(a in nodes and b in nodes for a, b in edges), "an edge to an undeclared node"
for line in text.splitlines():
    assert len(re.findall(r'(?<!\\)"', line)) % 2 == 0, line
PY
	checks=$((checks + 1))
done
grep -q 'n.*\[label="gaussian1.kl\\nkl\\nscalar"' "$tmp/vae.dot" || fail "vae.dot lacks the KL node"
checks=$((checks + 1))
if command -v dot >/dev/null; then
	dot -Tpng "$tmp/vae.dot" -o "$tmp/vae.png" 2>"$tmp/dot.err" && [[ -s $tmp/vae.png && ! -s $tmp/dot.err ]] ||
		fail "Graphviz cannot render vae.dot: $(head -c 300 "$tmp/dot.err")"
	checks=$((checks + 1))
fi
expect_exit 0 "$nnlab" info mlp --dot - && expect_in "$tmp/out" 'digraph "mlp" {'
expect_exit 2 "$nnlab" info mlp --graph --json && expect_in "$tmp/err" "one at a time"
expect_exit 2 "$nnlab" info mlp --dot && expect_in "$tmp/err" "--dot needs a value"
expect_exit 1 "$nnlab" info mlp --dot "$tmp/no/such/dir/m.dot" && expect_in "$tmp/err" "cannot write"
expect_exit 2 "$nnlab" info no-such-model --graph && expect_in "$tmp/err" "no model 'no-such-model'"
expect_exit 2 "$nnlab" eval "$tmp/nothing.nnl" && expect_in "$tmp/err" "No such file"
expect_exit 2 "$nnlab" train --resume "$tmp/two.nnl" --model linear && expect_in "$tmp/err" "is not the model stored"
expect_exit 2 "$nnlab" train --resume "$tmp/two.nnl" --seed 5 && expect_in "$tmp/err" "--seed cannot change"
expect_exit 1 "$nnlab" train --model linear --epochs 1 --save "$tmp/no/such/dir/m.nnl" &&
	expect_in "$tmp/err" "$tmp/no/such/dir/m.nnl: cannot save the model"

# Ctrl-C with --save saves where it stopped; resuming continues exactly (cosine schedule included).
"$nnlab" train --no-tui --json --threads 1 --model mlp --epochs 12 --save "$tmp/int.nnl" \
	>"$tmp/int.json" 2>"$tmp/int.progress" &
pid=$!
for _ in $(seq 200); do grep -q "epoch  1/12" "$tmp/int.progress" && break; sleep 0.05; done
kill -INT "$pid"
wait "$pid"
code=$?
checks=$((checks + 1))
[[ $code == 130 || $code == 0 ]] || fail "train interrupted with --save exited $code"
[[ -f $tmp/int.nnl ]] || fail "Ctrl-C did not save $tmp/int.nnl"
"$nnlab" train --no-tui --json --threads 1 --resume "$tmp/int.nnl" >"$tmp/int2.json" 2>/dev/null ||
	fail "resuming after Ctrl-C exited $?"
run_json "$tmp/twelve.json" --model mlp --epochs 12 || fail "train --epochs 12 exited $?"
python3 -c "$strip_times"'
a, b = strip(sys.argv[1]), strip(sys.argv[2])
assert a == b, (a, b)
' "$tmp/twelve.json" "$tmp/int2.json" || fail "an interrupted and resumed run differs from an uninterrupted one"
checks=$((checks + 1))
echo "Ctrl-C: $(grep -o 'Interrupted at [^.]*' "$tmp/int.progress" || echo 'the run ended first'); resumed: same figures"

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
