#!/usr/bin/env python3
"""Every kind of bad input file nnlab reads, fed to the command that reads
it: IDX data sets, model files, specs, strokes files and images. Each must
be refused with exit status 2 and a message that names the file and says
what was wrong (the expected words are checked), never a crash.

usage: bad_inputs.py NNLAB SOURCE_ROOT [--table FILE]

--table writes the cases and nnlab's exact messages as a Markdown table
(docs/bad-inputs.md is made this way)."""
import gzip
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib

nnlab, root = sys.argv[1], sys.argv[2]
table_path = sys.argv[sys.argv.index("--table") + 1] if "--table" in sys.argv else None
tmp = tempfile.mkdtemp(prefix="nnlab-bad-")
env = dict(os.environ, NO_COLOR="1", DISPLAY="", WAYLAND_DISPLAY="", OPENBLAS_NUM_THREADS="1")
rows = []
failures = 0


def path(name):
    return os.path.join(tmp, name)


def write(name, data):
    p = path(name)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p, "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())
    return p


def idx(dims, payload=None, type_code=8):
    size = 1
    for d in dims:
        size *= d
    if payload is None:
        payload = bytes(i % 10 for i in range(size))
    return bytes([0, 0, type_code, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims) + payload


def case(kind, what, args, expect, status=2):
    """Run nnlab ARGS; expect exit STATUS and every word of EXPECT in stderr."""
    global failures
    run = subprocess.run([nnlab] + args, capture_output=True, text=True, env=env, timeout=120)
    message = run.stderr.strip().replace(tmp + "/", "")
    ok = run.returncode == status and all(e in run.stderr for e in expect)
    if not ok:
        failures += 1
        print(f"FAIL: {kind}, {what}: exit {run.returncode} (expected {status}), stderr: {run.stderr.strip()!r}"
              f" (expected to contain {expect!r})")
    else:
        print(f"ok: {kind}, {what}: {message}")
    rows.append((kind, what, run.returncode, message))


# ---- IDX data sets: a copy of the bundled digits with one file replaced -----
source = os.path.join(root, "data", "mnist-small")
files = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]
good = {f: gzip.open(os.path.join(source, f + ".gz")).read() for f in files}
test_images = "t10k-images-idx3-ubyte"
test_labels = "t10k-labels-idx1-ubyte"


def data_case(what, name, content, expect, gz=False, named=True):
    d = path("data-%d" % len(rows))
    os.makedirs(d)
    for f in files:
        if f != name:
            with open(os.path.join(d, f), "wb") as out:
                out.write(good[f])
    target = os.path.join(d, name + (".gz" if gz else ""))
    if content is None:
        pass  # missing
    elif content == "dir":
        os.makedirs(target)
    else:
        with open(target, "wb") as out:
            out.write(content)
    shown = name + (".gz" if gz else "")
    case("IDX", what, ["train", "--no-tui", "--no-gui", "--model", "linear", "--epochs", "1", "--data", d],
         ([shown] if named else [d]) + expect)
    shutil.rmtree(d)


n_test = 2000
labels_ok = good[test_labels]
images_ok = good[test_images]
data_case("missing", test_labels, None, ["cannot open", "No such file"])
data_case("a directory", test_labels, "dir", ["Is a directory"])
data_case("empty file", test_labels, b"", ["truncated", "magic"])
data_case("3 bytes", test_labels, b"\0\0\x08", ["truncated", "magic"])
data_case("bad magic (a PNG)", test_labels, b"\x89PNG\r\n\x1a\n" + bytes(100), ["bad magic"])
data_case("type code 0x0D (float)", test_labels, idx([n_test], bytes(4 * n_test), type_code=0x0D),
          ["unsupported type code 0x0d"])
data_case("0 dimensions", test_labels, b"\0\0\x08\0", ["dimension count 0"])
data_case("5 dimensions", test_labels, b"\0\0\x08\x05" + bytes(20), ["dimension count 5"])
data_case("dimensions cut short", test_images, b"\0\0\x08\x03\0\0\x07\xd0\0\0", ["truncated", "dimensions"])
data_case("a dimension of 0", test_images, idx([n_test, 0, 28], b""), ["dimension 1 is 0"])
data_case("item count 0", test_labels, idx([0], b""), ["dimension 0 (item count) is 0"])
data_case("dimensions over 4 GiB", test_images, idx([4000000, 28, 28 * 100], b""), ["exceed", "limit"])
data_case("payload cut short", test_labels, labels_ok[:1000], ["truncated: expected 2000 bytes of data, found 992"])
data_case("bytes after the payload", test_labels, labels_ok + b"xyz", ["trailing data: 3 bytes"])
data_case("corrupt gzip", test_labels, gzip.compress(labels_ok)[:30] + b"\xff" * 40, ["corrupt gzip data"], gz=True)
data_case("gzip cut short", test_labels, gzip.compress(labels_ok)[:40], ["truncated"], gz=True)
data_case("labels as images (1-D)", test_images, labels_ok, ["not an image file: 1 dimension(s)"])
data_case("images as labels (3-D)", test_labels, images_ok, ["not a label file: 3 dimensions"])
data_case("label 10", test_labels, idx([n_test], bytes([3] * 7 + [10] + [3] * (n_test - 8))),
          ["label 10 at index 7 is out of range 0..9"])
data_case("1999 labels for 2000 images", test_labels, idx([n_test - 1], labels_ok[8:-1]),
          ["2000 images but 1999 labels"])
data_case("14x14 test images, 28x28 training", test_images, idx([n_test, 14, 14]),
          ["training images are 28x28 but test images are 14x14"], named=False)

# ---- model files (nnlab eval / info / train --resume) ----------------------
model = path("good.nnl")
subprocess.run([nnlab, "train", "--no-tui", "--no-gui", "--model", "linear", "--epochs", "1", "--save", model],
               check=True, capture_output=True, env=env)
good_model = open(model, "rb").read()


def crc_fixed(data):
    return data[:-4] + struct.pack("<I", zlib.crc32(data[:-4]) & 0xFFFFFFFF)


def model_case(what, content, expect, command="eval"):
    p = content if content is None or isinstance(content, str) and content.startswith("/") else None
    if p is None:
        p = path("model-%d.nnl" % len(rows))
        if content is not None:
            if content == "dir":
                os.makedirs(p)
            else:
                write(os.path.basename(p), content)
    args = {"eval": ["eval", p], "info": ["info", p], "resume": ["train", "--no-tui", "--no-gui", "--resume", p]}
    case("model file", what, args[command], [os.path.basename(p)] + expect)


spec_offset = 12 + 12  # header, then SPEC's tag and length
model_case("missing", None, ["cannot open model file", "No such file"])
model_case("a directory", "dir", ["not a regular file"])
model_case("empty file", b"", ["truncated"])
model_case("a spec file", open(os.path.join(root, "assets", "models", "mlp.spec"), "rb").read(),
           ["not an nnlab model file"], command="info")
model_case("version 2.0", good_model[:8] + b"\x02\x00\x00\x00" + good_model[12:],
           ["format version 2.0 is not supported"])
model_case("cut at half", good_model[: len(good_model) // 2], ["truncated"])
model_case("cut in the header", good_model[:10], ["truncated"])
flipped = bytearray(good_model)
flipped[len(flipped) // 2] ^= 0x10
model_case("one bit flipped in the weights", bytes(flipped), ["checksum mismatch"])
model_case("bytes after the end", good_model + b"\0\0", ["2 bytes after the end of the model"], command="info")
bad_tag = bytearray(good_model)
bad_tag[12:16] = b"\x01\x02\x03\x04"
model_case("a section tag of control bytes", crc_fixed(bytes(bad_tag)), ["expected a section tag, found bytes 01 02 03 04"])
unknown = bytearray(good_model)
unknown[12:16] = b"ZZZZ"
model_case("unknown section in a 1.0 file", crc_fixed(bytes(unknown)), ["unknown section 'ZZZZ'"])
huge_len = bytearray(good_model)
huge_len[16:24] = struct.pack("<Q", 1 << 62)
model_case("a section length of 2^62", crc_fixed(bytes(huge_len)), ["spec text is 4611686018427387904 bytes long"])
text = good_model[spec_offset:spec_offset + 40]
spec_len = struct.unpack("<Q", good_model[16:24])[0]
spec_text = good_model[spec_offset:spec_offset + spec_len].decode()
bad_spec = spec_text.replace("dense 10", "dense 1O", 1)
other = good_model[:16] + struct.pack("<Q", len(bad_spec)) + bad_spec.encode() + good_model[spec_offset + spec_len:]
model_case("a stored spec with a typo", crc_fixed(other), ["spec:", "expected the number of units"])
bigger = spec_text.replace("dense 10", "dense 12", 1)
other = good_model[:16] + struct.pack("<Q", len(bigger)) + bigger.encode() + good_model[spec_offset + spec_len:]
model_case("parameters that do not fit the stored spec", crc_fixed(other), ["dense1.weight"])
nul = spec_text.replace("dense", "de\0se", 1)
other = good_model[:16] + struct.pack("<Q", len(nul)) + nul.encode() + good_model[spec_offset + spec_len:]
model_case("a NUL byte in the spec text", crc_fixed(other), ["NUL byte"])
corpus = os.path.join(root, "tests", "fuzz", "corpus")
model_case("a 932-byte file claiming a sparse tensor of 50331654x16 values (found by fuzzing)",
           open(os.path.join(corpus, "checkpoint", "tens-huge-shape-oom"), "rb").read(),
           ["parameter dense1.weight runs past the end of section TENS"])
model_case("a small file whose spec asks for dense 16777216",
           open(os.path.join(corpus, "checkpoint", "huge-spec-small-file.nnl"), "rb").read(),
           ["dense1.weight [6x16] in the file, dense1.weight [16777216x16] in the model"], command="info")
model_case("resume from a damaged file", bytes(flipped), ["checksum mismatch"], command="resume")

# ---- specs (train --model FILE) ----------------------------------------------
def spec_case(what, text, expect):
    p = write("spec-%d.spec" % len(rows), text)
    case("spec", what, ["train", "--no-tui", "--no-gui", "--epochs", "1", "--model", p], [os.path.basename(p)] + expect)


spec_case("empty", "", ["no layers"])
spec_case("only comments", "# nothing\n\n", ["no layers"])
spec_case("unknown layer", "input 784\ndens 10\nsoftmax_xent\n", [":2:1:", "dens"])
spec_case("no input line", "dense 10\nsoftmax_xent\n", [":1:1:"])
spec_case("units not a number", "input 1x28x28\ndense ten\nsoftmax_xent\n", [":2:7:", "number of units"])
spec_case("units 0", "input 1x28x28\ndense 0\nsoftmax_xent\n", [":2:7:"])
spec_case("units 2^31", "input 1x28x28\ndense 2147483648\nsoftmax_xent\n", [":2:7:", "16777216"])
spec_case("shape 1x28y28", "input 1x28y28\n", [":1:11:", "expected 'x'"])
spec_case("shape with 4 dimensions", "input 1x1x28x28\n", [":1:7:", "at most 3"])
spec_case("dropout rate 1", "input 784\ndropout 1\ndense 10\nsoftmax_xent\n", [":2:9:", "[0, 1)"])
spec_case("no loss", "input 784\ndense 10\n", ["loss"])
spec_case("layer after the loss", "input 784\ndense 10\nsoftmax_xent\ndense 3\n", [":4:"])
spec_case("extra word", "input 784\ndense 10\nsoftmax_xent extra\n", [":3:14: unexpected 'extra'"])
spec_case("bad option", "input 1x28x28\nconv 6 5x5 pad=banana\ndense 10\nsoftmax_xent\n", [":2:"])
spec_case("kernel larger than the image", "input 1x28x28\nconv 6 40x40\ndense 10\nsoftmax_xent\n", [":2: conv1: a 40x40 kernel does not fit the 28x28 input"])
spec_case("input that does not match the data", "input 1x14x14\ndense 10\nsoftmax_xent\n", ["28x28"])
spec_case("bad train option", "input 784\ndense 10\nsoftmax_xent\ntrain lr=fast\n", [":4:7:"])
spec_case("word of 200 characters", "input 784\n" + "a" * 200 + "\n", [":2:1:", "too long"])
spec_case("257 layers", "input 784\n" + "relu\n" * 256 + "dense 10\nsoftmax_xent\n", ["too many layers"])
spec_case("binary junk", "\x00\x01\x02\xff\xfe", ["contains a NUL byte"])
spec_case("not UTF-8 or words", "\x01\x02\xff\xfe\n", [":1:1:"])

# ---- strokes files (predict --strokes) ---------------------------------------
def strokes_case(what, text, expect):
    p = write("strokes-%d.txt" % len(rows), text)
    case("strokes", what, ["predict", model, "--strokes", p], [os.path.basename(p)] + expect)


strokes_case("a word", "0.1,0.1 hello\n", [":1:9:"])
strokes_case("x out of [0,1]", "0.1,0.1 1.5,0.2\n", [":1:9:", "outside [0,1]"])
strokes_case("negative y", "0.1,-0.2\n", [":1:"])
strokes_case("missing y", "0.1,0.1 0.2\n", [":1:"])
strokes_case("semicolon for comma", "0.1;0.1\n", [":1:"])
strokes_case("NaN", "nan,0.5\n", [":1:1:"])
strokes_case("number of 100 digits", "0." + "1" * 100 + ",0.5\n", [":1:1:", "too long"])
strokes_case("= with text", "0.1,0.1\n= end\n", [":2:"])
strokes_case("no drawing at all", "# nothing\n", ["no drawings in the file"])
case("strokes", "missing", ["predict", model, "--strokes", path("none.strokes")], ["none.strokes", "No such file"])

# ---- images (predict FILE) -------------------------------------------------
def image_case(what, data, expect):
    p = write("image-%d.img" % len(rows), data)
    case("image", what, ["predict", model, p], [os.path.basename(p)] + expect)


png = open(os.path.join(root, "tests", "fuzz", "corpus", "image", "digit.png"), "rb").read()
image_case("empty file", b"", ["not a readable image"])
image_case("text", "hello, world\n", ["not a readable image"])
image_case("PNG cut short", png[:60], ["cannot decode image: the data is damaged or cut short"])
image_case("PGM of 9000x9000 in 20 bytes", b"P5\n9000 9000\n255\n", ["9000x9000", "at most 8192x8192"])
image_case("PNG header claiming 100000x100000",
           png[:16] + struct.pack(">II", 100000, 100000) + png[24:], ["not a readable image"])
image_case("PNG header claiming 10000x10000",
           png[:16] + struct.pack(">II", 10000, 10000) + png[24:], ["image is 10000x10000; at most 8192x8192"])
image_case("PNG header claiming 8000x8000, no pixels",
           png[:16] + struct.pack(">II", 8000, 8000) + png[24:], ["cannot decode image"])
image_case("BMP header claiming 0x0", b"BM" + bytes(16) + struct.pack("<ii", 0, 0) + bytes(40), [])
image_case("JPEG with a Huffman table of 473 codes (found by fuzzing)",
           open(os.path.join(corpus, "image", "jpeg-dht-overflow.jpg"), "rb").read(),
           ["corrupt JPEG: a Huffman table of 473 codes (at most 256)"])
image_case("PGM header with a width of 25 digits (found by fuzzing)",
           open(os.path.join(corpus, "image", "pnm-header-overflow.pgm"), "rb").read(),
           ["a PGM/PPM header number larger than 2147483647"])
image_case("GIF header only", b"GIF89a\x10\x00\x10\x00\x00\x00\x00", ["image"])
case("image", "missing", ["predict", model, path("none.png")], ["none.png", "No such file"])
case("image", "a directory", ["predict", model, tmp], ["cannot read: Is a directory"])

shutil.rmtree(tmp)
print(f"{len(rows)} bad inputs, {failures} failed")
if table_path:
    with open(table_path, "w") as out:
        out.write("| input | case | exit | message |\n|---|---|---|---|\n")
        for kind, what, code, message in rows:
            message = message.replace("|", "\\|").replace("\n", "<br>")
            out.write(f"| {kind} | {what} | {code} | `{message}` |\n")
sys.exit(1 if failures else 0)
