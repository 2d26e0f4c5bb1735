/* The helper thread behind nn_parallel_for: one job slot, handed over with
 * atomics.  Both sides wait by spinning on the CPU's pause instruction, not
 * sched_yield: on a busy machine a yield hands the core to another process
 * for a whole time slice, milliseconds against products of tens of
 * microseconds.  The helper spins for a short while after each job (a
 * training step posts one every few microseconds) and then sleeps on a
 * condition variable, so an idle program costs no CPU. */
#include "parallel.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <time.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define cpu_relax() _mm_pause()
#elif defined(__aarch64__)
#define cpu_relax() __asm__ __volatile__("yield")
#else
#define cpu_relax() ((void)0)
#endif

#define SPIN_SECONDS 3e-4 /* the helper's spin after a job before it sleeps */
#define WAIT_SPINS 100000 /* the caller's spins before it starts yielding */

static struct {
    pthread_once_t once;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    int started;
    int enabled;
    atomic_long posted;   /* jobs handed to the helper */
    atomic_long finished; /* jobs it completed */
    atomic_int sleeping;
    atomic_flag busy;     /* held by the caller whose job the helper runs */
    nn_range_fn fn;
    void *ctx;
    size_t begin, end;
} helper = {.once = PTHREAD_ONCE_INIT, .lock = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER,
            .busy = ATOMIC_FLAG_INIT};

static double seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void *helper_main(void *arg)
{
    (void)arg;
    long done = 0;
    for (;;) {
        double idle_since = seconds();
        for (unsigned spins = 1; atomic_load_explicit(&helper.posted, memory_order_acquire) == done; spins++) {
            if (spins % 256 || seconds() - idle_since < SPIN_SECONDS) {
                cpu_relax();
                continue;
            }
            pthread_mutex_lock(&helper.lock);
            atomic_store(&helper.sleeping, 1);
            while (atomic_load(&helper.posted) == done)
                pthread_cond_wait(&helper.wake, &helper.lock);
            atomic_store(&helper.sleeping, 0);
            pthread_mutex_unlock(&helper.lock);
        }
        done++;
        helper.fn(helper.ctx, helper.begin, helper.end, 1);
        atomic_store_explicit(&helper.finished, done, memory_order_release);
    }
    return NULL;
}

static void start_helper(void)
{
    pthread_attr_t attr;
    pthread_t thread;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    helper.started = pthread_create(&thread, &attr, helper_main, NULL) == 0;
    pthread_attr_destroy(&attr);
}

void nn_parallel_set_threads(int threads)
{
    helper.enabled = threads > 1;
}

int nn_parallel_for(size_t n, size_t min_split, nn_range_fn fn, void *ctx)
{
    if (!helper.enabled || n < min_split || n < 2) {
        fn(ctx, 0, n, 0);
        return 1;
    }
    pthread_once(&helper.once, start_helper);
    /* One job slot: a second thread calling at the same time (two trainers
     * in one process) runs its loop alone rather than waiting. */
    if (!helper.started || atomic_flag_test_and_set(&helper.busy)) {
        fn(ctx, 0, n, 0);
        return 1;
    }
    /* Whole cache lines of floats each side when the range is long. */
    size_t mid = n >= 256 ? (n / 2 + 15) / 16 * 16 : n / 2;
    helper.fn = fn;
    helper.ctx = ctx;
    helper.begin = mid;
    helper.end = n;
    long job = atomic_fetch_add(&helper.posted, 1) + 1; /* seq_cst: pairs with sleeping */
    if (atomic_load(&helper.sleeping)) {
        pthread_mutex_lock(&helper.lock);
        pthread_cond_signal(&helper.wake);
        pthread_mutex_unlock(&helper.lock);
    }
    fn(ctx, 0, mid, 0);
    for (unsigned spins = 0; atomic_load_explicit(&helper.finished, memory_order_acquire) != job; spins++) {
        if (spins < WAIT_SPINS)
            cpu_relax();
        else /* the helper lost its core: let it have ours */
            sched_yield();
    }
    atomic_flag_clear(&helper.busy);
    return 2;
}
