/* Tests for nn/idx.c: the bundled mnist-small set, and one small synthetic
 * file per way an IDX file can be broken.
 *
 * Every malformed file must give NN_EINPUT with a message naming the file and
 * the field at fault, since that message is all a user sees when a download
 * went wrong.  Each case is tried plain and gzipped where the two can differ. */
#include "data.h"

#include <check.h>
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zlib.h>

static char temp_dir[] = "/tmp/nnlab-test-idx-XXXXXX";

/* ---- helpers ---------------------------------------------------------- */

/* Up to 64 header bytes plus payload, built by the tests below. */
typedef struct test_bytes {
    unsigned char data[4096];
    size_t length;
} test_bytes;

static void put_byte(test_bytes *bytes, unsigned value)
{
    ck_assert_uint_lt(bytes->length, sizeof bytes->data);
    bytes->data[bytes->length++] = (unsigned char)value;
}

static void put_u32(test_bytes *bytes, uint32_t value)
{
    put_byte(bytes, value >> 24 & 0xFF);
    put_byte(bytes, value >> 16 & 0xFF);
    put_byte(bytes, value >> 8 & 0xFF);
    put_byte(bytes, value & 0xFF);
}

/* A header with the given type code and dimensions, then `fill` bytes of
 * payload counting 0, 1, 2, … (mod 256). */
static test_bytes make_idx(unsigned type, int ndim, const uint32_t *dims, size_t fill)
{
    test_bytes bytes = {.length = 0};
    put_byte(&bytes, 0);
    put_byte(&bytes, 0);
    put_byte(&bytes, type);
    put_byte(&bytes, (unsigned)ndim);
    for (int d = 0; d < ndim; d++)
        put_u32(&bytes, dims[d]);
    for (size_t i = 0; i < fill; i++)
        put_byte(&bytes, (unsigned)(i % 256));
    return bytes;
}

/* 3 images of 2x2 with pixels 0..11, and labels. */
static test_bytes small_images(void)
{
    const uint32_t dims[] = {3, 2, 2};
    return make_idx(0x08, 3, dims, 12);
}

static test_bytes small_labels(const unsigned char *labels, uint32_t count)
{
    const uint32_t dims[] = {count};
    test_bytes bytes = make_idx(0x08, 1, dims, 0);
    for (uint32_t i = 0; i < count; i++)
        put_byte(&bytes, labels[i]);
    return bytes;
}

/* Writes the first `length` bytes to temp_dir/name (gzipped when `gzip`),
 * returning the path in a static buffer. */
static const char *write_file(const char *name, const test_bytes *bytes, size_t length,
                              int gzip)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", temp_dir, name);
    if (gzip) {
        gzFile file = gzopen(path, "wb9");
        ck_assert_ptr_nonnull(file);
        if (length > 0)
            ck_assert_int_eq(gzwrite(file, bytes->data, (unsigned)length), (int)length);
        ck_assert_int_eq(gzclose(file), Z_OK);
    } else {
        FILE *file = fopen(path, "wb");
        ck_assert_ptr_nonnull(file);
        ck_assert_uint_eq(fwrite(bytes->data, 1, length, file), length);
        ck_assert_int_eq(fclose(file), 0);
    }
    return path;
}

/* Asserts that a failed read left nothing behind and explained itself. */
#define ck_assert_input_error(status, err, path, keyword)                            \
    do {                                                                             \
        ck_assert_int_eq((status), NN_EINPUT);                                       \
        ck_assert_int_eq((err).code, NN_EINPUT);                                     \
        ck_assert_msg(strstr((err).msg, (path)) != NULL,                             \
                      "message '%s' does not name '%s'", (err).msg, (path));         \
        ck_assert_msg(strstr((err).msg, (keyword)) != NULL,                          \
                      "message '%s' does not mention '%s'", (err).msg, (keyword));   \
    } while (0)

/* Reads a file that must be rejected; checks the output stayed empty. */
static void expect_idx_error(const char *path, const char *keyword)
{
    nn_idx idx;
    nn_error err = {0};
    memset(&idx, 0xAB, sizeof idx);
    int status = nn_idx_read(path, &idx, &err);
    ck_assert_input_error(status, err, path, keyword);
    ck_assert_ptr_null(idx.data);
    ck_assert_int_eq(idx.ndim, 0);
}

/* ---- the bundled data set --------------------------------------------- */

START_TEST(test_mnist_small_loads)
{
    const char *root = getenv("NNLAB_SOURCE_ROOT");
    ck_assert_msg(root != NULL, "NNLAB_SOURCE_ROOT is not set");
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/data/mnist-small", root);

    nn_dataset train, test;
    nn_error err = {0};
    int status = nn_dataset_load_dir(dir, &train, &test, &err);
    ck_assert_msg(status == NN_OK, "%s", err.msg);

    ck_assert_uint_eq(train.count, 8000);
    ck_assert_uint_eq(test.count, 2000);
    ck_assert_int_eq(train.rows, 28);
    ck_assert_int_eq(train.cols, 28);
    ck_assert_int_eq(test.rows, 28);
    ck_assert_int_eq(test.cols, 28);
    ck_assert_int_eq(train.classes, 10);

    /* Per-digit counts follow from the split rule i % 5 == 4 applied to the
     * package's 1001, 1127, 991, … samples of each digit. */
    const size_t train_expected[10] = {801, 902, 793, 825, 784, 691, 811, 856, 755, 782};
    const size_t test_expected[10] = {200, 225, 198, 207, 196, 172, 203, 214, 189, 196};
    size_t train_histogram[10] = {0}, test_histogram[10] = {0};
    for (size_t i = 0; i < train.count; i++)
        train_histogram[train.labels[i]]++;
    for (size_t i = 0; i < test.count; i++)
        test_histogram[test.labels[i]]++;
    size_t train_total = 0, test_total = 0;
    for (int c = 0; c < 10; c++) {
        ck_assert_uint_eq(train_histogram[c], train_expected[c]);
        ck_assert_uint_eq(test_histogram[c], test_expected[c]);
        train_total += train_histogram[c];
        test_total += test_histogram[c];
    }
    ck_assert_uint_eq(train_total, 8000);
    ck_assert_uint_eq(test_total, 2000);

    /* Test sample 0 is package sample 4 of digit 0; its pixel sum was
     * measured from the JSON with Math.round(v * 255). */
    ck_assert_uint_eq(test.labels[0], 0);
    ck_assert_uint_eq(test.labels[test.count - 1], 9);
    unsigned long pixel_sum = 0;
    for (int p = 0; p < 28 * 28; p++)
        pixel_sum += test.images[p];
    ck_assert_uint_eq(pixel_sum, 45543);
    pixel_sum = 0;
    for (int p = 0; p < 28 * 28; p++)
        pixel_sum += train.images[p];
    ck_assert_uint_eq(pixel_sum, 31095);

    nn_dataset_free(&train);
    nn_dataset_free(&test);
    ck_assert_ptr_null(train.images);
    ck_assert_uint_eq(train.count, 0);
}
END_TEST

/* ---- well-formed synthetic files -------------------------------------- */

START_TEST(test_plain_and_gzip_read_the_same)
{
    test_bytes bytes = small_images();
    for (int gzip = 0; gzip <= 1; gzip++) {
        const char *path = write_file(gzip ? "plain-gz.idx.gz" : "plain.idx", &bytes,
                                      bytes.length, gzip);
        nn_idx idx;
        nn_error err = {0};
        int status = nn_idx_read(path, &idx, &err);
        ck_assert_msg(status == NN_OK, "%s", err.msg);
        ck_assert_int_eq(idx.ndim, 3);
        ck_assert_uint_eq(idx.dims[0], 3);
        ck_assert_uint_eq(idx.dims[1], 2);
        ck_assert_uint_eq(idx.dims[2], 2);
        ck_assert_uint_eq(idx.count, 3);
        ck_assert_uint_eq(idx.item_size, 4);
        for (int i = 0; i < 12; i++)
            ck_assert_uint_eq(idx.data[i], (unsigned)i);
        nn_idx_free(&idx);
        ck_assert_ptr_null(idx.data);
    }
}
END_TEST

START_TEST(test_one_dimensional_and_four_dimensional)
{
    const uint32_t one[] = {5};
    test_bytes bytes = make_idx(0x08, 1, one, 5);
    nn_idx idx;
    nn_error err = {0};
    ck_assert_int_eq(nn_idx_read(write_file("one.idx", &bytes, bytes.length, 0), &idx, &err),
                     NN_OK);
    ck_assert_uint_eq(idx.count, 5);
    ck_assert_uint_eq(idx.item_size, 1);
    nn_idx_free(&idx);

    const uint32_t four[] = {2, 3, 4, 5};
    bytes = make_idx(0x08, 4, four, 120);
    ck_assert_int_eq(nn_idx_read(write_file("four.idx", &bytes, bytes.length, 1), &idx, &err),
                     NN_OK);
    ck_assert_uint_eq(idx.count, 2);
    ck_assert_uint_eq(idx.item_size, 60);
    ck_assert_uint_eq(idx.data[119], 119);
    nn_idx_free(&idx);
}
END_TEST

START_TEST(test_load_dir_plain_and_gzip)
{
    const unsigned char labels[] = {2, 0, 9};
    test_bytes images = small_images();
    test_bytes label_bytes = small_labels(labels, 3);
    /* Plain training files and gzipped test files in one directory: each
     * name is looked up on its own. */
    write_file("train-images-idx3-ubyte", &images, images.length, 0);
    write_file("train-labels-idx1-ubyte", &label_bytes, label_bytes.length, 0);
    write_file("t10k-images-idx3-ubyte.gz", &images, images.length, 1);
    write_file("t10k-labels-idx1-ubyte.gz", &label_bytes, label_bytes.length, 1);

    nn_dataset train, test;
    nn_error err = {0};
    int status = nn_dataset_load_dir(temp_dir, &train, &test, &err);
    ck_assert_msg(status == NN_OK, "%s", err.msg);
    ck_assert_uint_eq(train.count, 3);
    ck_assert_uint_eq(test.count, 3);
    ck_assert_int_eq(train.rows, 2);
    ck_assert_int_eq(test.cols, 2);
    ck_assert_uint_eq(test.labels[2], 9);
    ck_assert_uint_eq(test.images[11], 11);
    ck_assert_int_eq(memcmp(train.images, test.images, 12), 0);
    nn_dataset_free(&train);
    nn_dataset_free(&test);

    /* Without the test labels the directory is incomplete. */
    char missing[512];
    snprintf(missing, sizeof missing, "%s/t10k-labels-idx1-ubyte.gz", temp_dir);
    ck_assert_int_eq(unlink(missing), 0);
    status = nn_dataset_load_dir(temp_dir, &train, &test, &err);
    snprintf(missing, sizeof missing, "%s/t10k-labels-idx1-ubyte", temp_dir);
    ck_assert_input_error(status, err, missing, "No such file");
    ck_assert_ptr_null(train.images);
    ck_assert_ptr_null(test.images);
}
END_TEST

/* ---- malformed files -------------------------------------------------- */

/* From a pipe, as nn_idx_read_fd reads it (the fuzz target hands bytes over
 * in the same way): the same result as from a file, and a short pipe is a
 * truncation named after the given path. */
START_TEST(test_read_from_descriptor)
{
    test_bytes bytes = small_images();
    for (size_t length = bytes.length; length + 5 >= bytes.length; length -= 5) {
        int fds[2];
        ck_assert_int_eq(pipe(fds), 0);
        ck_assert_int_eq(write(fds[1], bytes.data, length), (ssize_t)length);
        close(fds[1]);
        nn_idx idx;
        nn_error err = {0};
        int status = nn_idx_read_fd(fds[0], "piped.idx", &idx, &err);
        if (length == bytes.length) {
            ck_assert_msg(status == NN_OK, "%s", err.msg);
            ck_assert_int_eq(idx.ndim, 3);
            ck_assert_uint_eq(idx.count, 3);
            ck_assert_uint_eq(idx.item_size, 4);
            for (int i = 0; i < 12; i++)
                ck_assert_uint_eq(idx.data[i], (unsigned)i);
            nn_idx_free(&idx);
        } else {
            ck_assert_input_error(status, err, "piped.idx", "truncated: expected 12 bytes of data, found 7");
        }
    }
}
END_TEST

START_TEST(test_missing_file)
{
    char path[512];
    snprintf(path, sizeof path, "%s/does-not-exist.idx", temp_dir);
    expect_idx_error(path, "No such file or directory");
}
END_TEST

START_TEST(test_directory_is_not_a_file)
{
    nn_idx idx;
    nn_error err = {0};
    int status = nn_idx_read(temp_dir, &idx, &err);
    ck_assert_input_error(status, err, temp_dir, "Is a directory");
    ck_assert_ptr_null(idx.data);
}
END_TEST

/* Cut points in the 16-byte header plus 12-byte payload of small_images(),
 * with the word the message must use for each. */
static const struct {
    size_t length;
    const char *keyword;
} truncations[] = {
    {0, "inside the magic number (0 of 4 bytes)"},
    {2, "inside the magic number (2 of 4 bytes)"},
    {4, "inside the dimensions (0 of 12 bytes)"},
    {9, "inside the dimensions (5 of 12 bytes)"},
    {15, "inside the dimensions (11 of 12 bytes)"},
    {16, "truncated: expected 12 bytes of data, found 0"},
    {21, "truncated: expected 12 bytes of data, found 5"},
    {27, "truncated: expected 12 bytes of data, found 11"},
};

START_TEST(test_truncated)
{
    test_bytes bytes = small_images();
    size_t cut = truncations[_i / 2].length;
    int gzip = _i % 2;
    const char *path = write_file(gzip ? "cut.idx.gz" : "cut.idx", &bytes, cut, gzip);
    expect_idx_error(path, truncations[_i / 2].keyword);
}
END_TEST

/* A gzip file whose compressed stream is cut short is as truncated as a
 * plain one: zlib's "unexpected end of file" must not become a read error. */
START_TEST(test_truncated_gzip_stream)
{
    const uint32_t dims[] = {4, 28, 28};
    test_bytes bytes = make_idx(0x08, 3, dims, 4 * 28 * 28);
    const char *path = write_file("stream.idx.gz", &bytes, bytes.length, 1);
    FILE *file = fopen(path, "rb");
    ck_assert_ptr_nonnull(file);
    unsigned char packed[4096];
    size_t packed_length = fread(packed, 1, sizeof packed, file);
    fclose(file);
    ck_assert_uint_gt(packed_length, 40);
    file = fopen(path, "wb");
    ck_assert_ptr_nonnull(file);
    fwrite(packed, 1, packed_length / 2, file);
    fclose(file);
    expect_idx_error(path, "truncated");
}
END_TEST

START_TEST(test_corrupt_gzip)
{
    test_bytes bytes = small_images();
    const char *path = write_file("corrupt.idx.gz", &bytes, bytes.length, 1);
    FILE *file = fopen(path, "r+b");
    ck_assert_ptr_nonnull(file);
    /* Byte 3 is the gzip flags; reserved bits make zlib reject the header. */
    fseek(file, 3, SEEK_SET);
    fputc(0xE0, file);
    fclose(file);
    nn_idx idx;
    nn_error err = {0};
    int status = nn_idx_read(path, &idx, &err);
    ck_assert_input_error(status, err, path, "gzip");
    ck_assert_ptr_null(idx.data);
}
END_TEST

START_TEST(test_bad_magic)
{
    test_bytes bytes = small_images();
    bytes.data[0] = 0x12;
    bytes.data[1] = 0x34;
    bytes.data[2] = 0x56;
    bytes.data[3] = 0x78;
    const char *path = write_file(_i ? "magic.gz" : "magic", &bytes, bytes.length, _i);
    expect_idx_error(path,
                     "bad magic 0x12345678 (expected 0x00000803 for images or "
                     "0x00000801 for labels)");
}
END_TEST

START_TEST(test_wrong_type_code)
{
    const uint32_t dims[] = {3, 2, 2};
    test_bytes bytes = make_idx(0x0D, 3, dims, 48); /* 0x0D is float32 */
    const char *path = write_file("float.idx", &bytes, bytes.length, _i);
    expect_idx_error(path, "type code 0x0d");
}
END_TEST

START_TEST(test_dimension_count_out_of_range)
{
    const uint32_t dims[] = {1, 1, 1, 1, 1};
    test_bytes none = make_idx(0x08, 0, dims, 1);
    expect_idx_error(write_file("ndim0.idx", &none, none.length, _i),
                     "dimension count 0 in the magic number is out of range 1..4");
    test_bytes five = make_idx(0x08, 5, dims, 1);
    expect_idx_error(write_file("ndim5.idx", &five, five.length, _i),
                     "dimension count 5 in the magic number is out of range 1..4");
}
END_TEST

START_TEST(test_zero_dimension)
{
    const uint32_t middle[] = {3, 0, 2};
    test_bytes bytes = make_idx(0x08, 3, middle, 0);
    expect_idx_error(write_file("zero1.idx", &bytes, bytes.length, _i), "dimension 1 is 0");

    const uint32_t first[] = {0};
    bytes = make_idx(0x08, 1, first, 0);
    expect_idx_error(write_file("zero0.idx", &bytes, bytes.length, _i),
                     "dimension 0 (item count) is 0");
}
END_TEST

START_TEST(test_dimensions_overflow)
{
    const uint32_t huge[] = {0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu};
    test_bytes bytes = make_idx(0x08, 3, huge, 16);
    expect_idx_error(write_file("huge.idx", &bytes, bytes.length, _i),
                     "dimensions 4294967295 x 4294967295 x 4294967295 exceed the "
                     "4294967296-byte limit");

    /* One byte over the limit is refused; the limit itself is only refused
     * later, because the file is too short. */
    const uint32_t over[] = {65537, 65536};
    bytes = make_idx(0x08, 2, over, 16);
    expect_idx_error(write_file("over.idx", &bytes, bytes.length, _i), "exceed");

    const uint32_t all[] = {0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu};
    bytes = make_idx(0x08, 4, all, 0);
    expect_idx_error(write_file("all.idx", &bytes, bytes.length, _i),
                     "4294967295 x 4294967295 x 4294967295 x 4294967295");
}
END_TEST

/* A header promising far more than the file holds must be caught by the
 * length check without first allocating what the header claims. */
START_TEST(test_count_larger_than_file)
{
    const uint32_t dims[] = {1000000, 28, 28};
    test_bytes bytes = make_idx(0x08, 3, dims, 2 * 28 * 28);
    expect_idx_error(write_file("liar.idx", &bytes, bytes.length, _i),
                     "truncated: expected 784000000 bytes of data, found 1568");

    const uint32_t limit[] = {65536, 65536};
    bytes = make_idx(0x08, 2, limit, 10);
    expect_idx_error(write_file("limit.idx", &bytes, bytes.length, _i),
                     "truncated: expected 4294967296 bytes of data, found 10");
}
END_TEST

START_TEST(test_trailing_garbage)
{
    test_bytes bytes = small_images();
    put_byte(&bytes, 0xDE);
    put_byte(&bytes, 0xAD);
    put_byte(&bytes, 0xBE);
    expect_idx_error(write_file("trailing.idx", &bytes, bytes.length, _i),
                     "trailing data: 3 bytes after the 12 bytes");

    /* Enough extra bytes to need several reads to count them. */
    const uint32_t dims[] = {1};
    bytes = make_idx(0x08, 1, dims, 1 + 3000);
    expect_idx_error(write_file("trailing-long.idx", &bytes, bytes.length, _i),
                     "trailing data: 3000 bytes after the 1 bytes");
}
END_TEST

/* ---- image/label pairs ------------------------------------------------ */

START_TEST(test_label_out_of_range)
{
    const unsigned char labels[] = {1, 9, 12};
    test_bytes images = small_images();
    test_bytes label_bytes = small_labels(labels, 3);
    char images_path[512];
    snprintf(images_path, sizeof images_path, "%s",
             write_file("range-images", &images, images.length, _i));
    const char *labels_path = write_file("range-labels", &label_bytes, label_bytes.length, _i);

    nn_dataset ds;
    nn_error err = {0};
    int status = nn_dataset_load(&ds, images_path, labels_path, 10, &err);
    ck_assert_input_error(status, err, labels_path,
                          "label 12 at index 2 is out of range 0..9");
    ck_assert_ptr_null(ds.images);
    ck_assert_ptr_null(ds.labels);

    /* The same labels are fine with 13 classes. */
    status = nn_dataset_load(&ds, images_path, labels_path, 13, &err);
    ck_assert_msg(status == NN_OK, "%s", err.msg);
    ck_assert_int_eq(ds.classes, 13);
    nn_dataset_free(&ds);
}
END_TEST

START_TEST(test_count_mismatch)
{
    const unsigned char labels[] = {1, 2};
    test_bytes images = small_images();
    test_bytes label_bytes = small_labels(labels, 2);
    char images_path[512];
    snprintf(images_path, sizeof images_path, "%s",
             write_file("count-images", &images, images.length, _i));
    const char *labels_path = write_file("count-labels", &label_bytes, label_bytes.length, _i);

    nn_dataset ds;
    nn_error err = {0};
    int status = nn_dataset_load(&ds, images_path, labels_path, 10, &err);
    ck_assert_input_error(status, err, images_path, "3 images but 2 labels");
    ck_assert_ptr_nonnull(strstr(err.msg, labels_path));
    ck_assert_ptr_null(ds.images);
}
END_TEST

START_TEST(test_files_swapped)
{
    const unsigned char labels[] = {1, 2, 3};
    test_bytes images = small_images();
    test_bytes label_bytes = small_labels(labels, 3);
    char images_path[512];
    snprintf(images_path, sizeof images_path, "%s",
             write_file("swap-images", &images, images.length, 0));
    const char *labels_path = write_file("swap-labels", &label_bytes, label_bytes.length, 0);

    nn_dataset ds;
    nn_error err = {0};
    int status = nn_dataset_load(&ds, labels_path, images_path, 10, &err);
    ck_assert_input_error(status, err, labels_path, "not an image file");
    ck_assert_ptr_null(ds.images);

    /* An image file given as the labels. */
    status = nn_dataset_load(&ds, images_path, images_path, 10, &err);
    ck_assert_input_error(status, err, images_path, "not a label file");
    ck_assert_ptr_null(ds.images);
}
END_TEST

/* ---- batches ---------------------------------------------------------- */

START_TEST(test_batch_values)
{
    uint8_t images[3 * 4] = {0, 1, 2, 3, 127, 128, 200, 255, 9, 8, 7, 6};
    uint8_t labels[3] = {4, 0, 9};
    nn_dataset ds = {.count = 3, .rows = 2, .cols = 2, .classes = 10,
                     .images = images, .labels = labels};
    const size_t order[] = {1, 2, 1, 0};
    float x[4 * 4];
    float y[4 * 10];
    int batch_labels[4];
    memset(y, 0x7F, sizeof y); /* stale values must be overwritten */
    nn_dataset_batch(&ds, order, 4, x, y, batch_labels);

    for (int i = 0; i < 4; i++) {
        for (int p = 0; p < 4; p++) {
            uint8_t byte = images[order[i] * 4 + (size_t)p];
            ck_assert_msg(x[i * 4 + p] == (float)byte / 255.0f,
                          "sample %d pixel %d: %.9g is not %u/255", i, p,
                          (double)x[i * 4 + p], byte);
        }
        ck_assert_int_eq(batch_labels[i], labels[order[i]]);
        for (int c = 0; c < 10; c++)
            ck_assert_msg(y[i * 10 + c] == (c == labels[order[i]] ? 1.0f : 0.0f),
                          "target %d class %d is %g", i, c, (double)y[i * 10 + c]);
    }
    /* The ends of the range are exact. */
    ck_assert(x[0 * 4 + 3] == 1.0f);  /* sample 1, byte 255 */
    ck_assert(x[3 * 4 + 0] == 0.0f);  /* sample 0, byte 0 */
    ck_assert(x[0 * 4 + 0] == 127.0f / 255.0f);

    /* Targets and labels are optional. */
    float x_only[2 * 4];
    nn_dataset_batch(&ds, order + 2, 2, x_only, NULL, NULL);
    ck_assert_int_eq(memcmp(x_only, x + 2 * 4, sizeof x_only), 0);
}
END_TEST

START_TEST(test_batch_from_mnist_small)
{
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/data/mnist-small", getenv("NNLAB_SOURCE_ROOT"));
    nn_dataset train, test;
    nn_error err = {0};
    ck_assert_int_eq(nn_dataset_load_dir(dir, &train, &test, &err), NN_OK);

    const size_t order[] = {0, 1999};
    float x[2 * 784], y[2 * 10];
    int labels[2];
    nn_dataset_batch(&test, order, 2, x, y, labels);
    double sum = 0;
    for (int p = 0; p < 784; p++)
        sum += x[p];
    ck_assert_double_eq_tol(sum, 45543.0 / 255.0, 1e-3);
    ck_assert_int_eq(labels[0], 0);
    ck_assert_int_eq(labels[1], 9);
    ck_assert(y[0] == 1.0f && y[10 + 9] == 1.0f);
    nn_dataset_free(&train);
    nn_dataset_free(&test);
}
END_TEST

/* ---- runner ----------------------------------------------------------- */

static Suite *idx_suite(void)
{
    Suite *suite = suite_create("idx");

    TCase *bundled = tcase_create("mnist-small");
    tcase_add_test(bundled, test_mnist_small_loads);
    tcase_add_test(bundled, test_batch_from_mnist_small);
    suite_add_tcase(suite, bundled);

    TCase *valid = tcase_create("valid");
    tcase_add_test(valid, test_plain_and_gzip_read_the_same);
    tcase_add_test(valid, test_read_from_descriptor);
    tcase_add_test(valid, test_one_dimensional_and_four_dimensional);
    tcase_add_test(valid, test_load_dir_plain_and_gzip);
    tcase_add_test(valid, test_batch_values);
    suite_add_tcase(suite, valid);

    /* Loop tests run once plain (_i = 0) and once gzipped (_i = 1). */
    TCase *malformed = tcase_create("malformed");
    tcase_add_test(malformed, test_missing_file);
    tcase_add_test(malformed, test_directory_is_not_a_file);
    tcase_add_loop_test(malformed, test_truncated, 0,
                        (int)(2 * sizeof truncations / sizeof truncations[0]));
    tcase_add_test(malformed, test_truncated_gzip_stream);
    tcase_add_test(malformed, test_corrupt_gzip);
    tcase_add_loop_test(malformed, test_bad_magic, 0, 2);
    tcase_add_loop_test(malformed, test_wrong_type_code, 0, 2);
    tcase_add_loop_test(malformed, test_dimension_count_out_of_range, 0, 2);
    tcase_add_loop_test(malformed, test_zero_dimension, 0, 2);
    tcase_add_loop_test(malformed, test_dimensions_overflow, 0, 2);
    tcase_add_loop_test(malformed, test_count_larger_than_file, 0, 2);
    tcase_add_loop_test(malformed, test_trailing_garbage, 0, 2);
    tcase_add_loop_test(malformed, test_label_out_of_range, 0, 2);
    tcase_add_loop_test(malformed, test_count_mismatch, 0, 2);
    tcase_add_test(malformed, test_files_swapped);
    suite_add_tcase(suite, malformed);
    return suite;
}

static void remove_temp_dir(void)
{
    DIR *dir = opendir(temp_dir);
    if (!dir)
        return;
    struct dirent *entry;
    char path[1024];
    while ((entry = readdir(dir)) != NULL) {
        if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", temp_dir, entry->d_name);
        unlink(path);
    }
    closedir(dir);
    rmdir(temp_dir);
}

int main(void)
{
    if (!mkdtemp(temp_dir)) {
        perror("mkdtemp");
        return 1;
    }
    SRunner *runner = srunner_create(idx_suite());
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    remove_temp_dir();
    return failed == 0 ? 0 : 1;
}
