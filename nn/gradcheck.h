/* Gradient checking: analytic gradients from backward against central
 * differences of the loss.
 *
 * The error of a parameter tensor is |a - n| / (|a| + |n|) over the checked
 * coordinates (L2 norms), which stays meaningful where single components are
 * near zero.  In float32 with h = 5e-3 a correct op measures about 1e-5 to
 * 1e-4; a wrong backward measures 1e-1 or more.  Coordinates whose +-h
 * evaluations flip a relu or move a max-pooling window's maximum are skipped
 * (and counted): there the difference quotient is not a derivative. */
#ifndef NN_GRADCHECK_H
#define NN_GRADCHECK_H

#include <stdint.h>

#include "graph.h"

#define NN_GRADCHECK_H_STEP 5e-3
#define NN_GRADCHECK_TOLERANCE 1e-2

typedef struct nn_gradcheck_result {
    char name[NN_NAME_LEN];   /* op or tensor name */
    double max_error;         /* worst relative error */
    int coords;               /* coordinates compared */
    int skipped;              /* coordinates whose +-h straddled a kink */
} nn_gradcheck_result;

/* Check every parameter tensor of a finalised graph whose inputs are
 * filled, on n samples, comparing up to max_coords coordinates per tensor
 * (chosen with seed).  A coordinate whose two evaluations change a relu's
 * sign or a max-pooling window's argmax is skipped: across such a kink the
 * quotient measures a jump.  Fills one result per parameter tensor (out must
 * hold g->n_param_tensors; coords counts those compared); returns the worst
 * error. */
double nn_gradcheck_graph(nn_graph *g, int n, double h, int max_coords, uint64_t seed,
                          nn_gradcheck_result *out);

/* Check one op in a small graph built around it (input -> matmul -> op ->
 * loss), with random data from seed.  Fills out with the op's name and worst
 * error; returns 0, or an nn_status if the op cannot be checked. */
int nn_gradcheck_op(int op, uint64_t seed, nn_gradcheck_result *out, nn_error *err);

#endif
