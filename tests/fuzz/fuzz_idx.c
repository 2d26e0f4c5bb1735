/* libFuzzer target: the IDX reader (plain and gzipped) on arbitrary bytes,
 * handed over through an in-memory file so no input touches the disk. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "data.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int fd = memfd_create("fuzz-idx", 0);
    if (fd < 0)
        abort();
    for (size_t done = 0; done < size;) {
        ssize_t n = write(fd, data + done, size - done);
        if (n <= 0)
            abort();
        done += (size_t)n;
    }
    if (lseek(fd, 0, SEEK_SET) != 0)
        abort();
    nn_idx idx;
    nn_error err = {0};
    if (nn_idx_read_fd(fd, "fuzz.idx", &idx, &err) != NN_OK) {
        /* A refusal always says why, and is an input error or a runtime one. */
        if (err.msg[0] == '\0' || (err.code != NN_EINPUT && err.code != NN_ERUNTIME))
            abort();
        return 0;
    }
    if (idx.ndim < 1 || idx.ndim > NN_IDX_MAX_DIMS || idx.count != idx.dims[0])
        abort();
    /* Every byte the header promises is there: reading them must be clean. */
    volatile unsigned sum = 0;
    for (size_t i = 0; i < idx.count * idx.item_size; i++)
        sum += idx.data[i];
    nn_idx_free(&idx);
    return 0;
}
