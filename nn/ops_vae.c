/* The pieces of a variational autoencoder (Kingma and Welling, 2013).
 *
 * An encoder ends in p[n, 2L]: the mean mu and the log-variance logvar of a
 * diagonal Gaussian over an L-dimensional latent code.  `gaussian` draws
 * z = mu + exp(logvar / 2) eps with eps ~ N(0, 1) from the graph's own noise
 * stream (the reparameterisation trick: the randomness is an input, so the
 * gradient flows through mu and logvar); `kl` is the closed-form
 * KL(N(mu, exp(logvar)) || N(0, 1)) per sample; `add` sums it with the
 * decoder's reconstruction loss, so the loss is the negative evidence lower
 * bound.  Both losses scale their gradients by dL/dloss (node->grad[0]). */
#include "ops.h"

#include <string.h>

/* The [n, 2L] parameters as mu = p[:, :L], logvar = p[:, L:]. */
static int check_params(const nn_node *node, const nn_node *p, nn_error *err)
{
    if (!p->batched || p->ndim != 1 || p->size % 2 != 0)
        return nn_error_set(err, NN_EINPUT,
                            "%s: expected the mean and log-variance side by side, an even number of values, "
                            "got %zu",
                            node->name, p->size);
    return NN_OK;
}

/* ---- gaussian: z[n,L] = mu + exp(logvar / 2) eps ------------------------- */

int nn_gaussian_infer(nn_graph *g, nn_node *node, nn_error *err)
{
    const nn_node *p = nn_op_input(g, node, 0);
    if (check_params(node, p, err))
        return err ? err->code : NN_EINPUT;
    node->batched = 1;
    node->ndim = 1;
    node->dim[0] = (int)(p->size / 2);
    node->size = p->size / 2;
    node->aux_size = node->size; /* eps */
    return NN_OK;
}

/* Draws noise in training and evaluation alike, so a test loss is an
 * estimate of the same bound that training minimises. */
void nn_gaussian_forward(nn_graph *g, nn_node *node, int n)
{
    const nn_node *p = nn_op_input(g, node, 0);
    size_t l = node->size;
    for (int i = 0; i < n; i++) {
        const float *mu = p->value + i * 2 * l, *logvar = mu + l;
        float *eps = node->aux + i * l, *z = node->value + i * l;
        for (size_t j = 0; j < l; j++) {
            eps[j] = nn_rng_normal(&g->noise_rng);
            z[j] = mu[j] + expf(0.5f * logvar[j]) * eps[j];
        }
    }
}

/* dmu = dz;  dlogvar = dz eps exp(logvar / 2) / 2 = dz (z - mu) / 2 */
void nn_gaussian_backward(nn_graph *g, nn_node *node, int n)
{
    nn_node *p = nn_op_input(g, node, 0);
    size_t l = node->size;
    int first = nn_grad_first(p);
    for (int i = 0; i < n; i++) {
        const float *restrict mu = p->value + i * 2 * l;
        const float *restrict z = node->value + i * l, *restrict dz = node->grad + i * l;
        float *restrict dmu = p->grad + i * 2 * l, *restrict dlogvar = dmu + l;
        for (size_t j = 0; j < l; j++) {
            float dv = 0.5f * dz[j] * (z[j] - mu[j]);
            dmu[j] = first ? dz[j] : dmu[j] + dz[j];
            dlogvar[j] = first ? dv : dlogvar[j] + dv;
        }
    }
}

/* ---- kl: mean over batch of -1/2 sum(1 + logvar - mu^2 - exp(logvar)) ---- */

int nn_kl_infer(nn_graph *g, nn_node *node, nn_error *err)
{
    const nn_node *p = nn_op_input(g, node, 0);
    if (check_params(node, p, err))
        return err ? err->code : NN_EINPUT;
    node->batched = 0;
    node->ndim = 0;
    node->size = 1;
    return NN_OK;
}

void nn_kl_forward(nn_graph *g, nn_node *node, int n)
{
    const nn_node *p = nn_op_input(g, node, 0);
    size_t l = p->size / 2;
    double total = 0;
    for (int i = 0; i < n; i++) {
        const float *mu = p->value + i * 2 * l, *logvar = mu + l;
        for (size_t j = 0; j < l; j++)
            total += -0.5 * (1.0 + logvar[j] - (double)mu[j] * mu[j] - exp(logvar[j]));
    }
    node->value[0] = (float)(total / n);
}

/* dmu = mu;  dlogvar = (exp(logvar) - 1) / 2; both times dL/dkl / n */
void nn_kl_backward(nn_graph *g, nn_node *node, int n)
{
    nn_node *p = nn_op_input(g, node, 0);
    size_t l = p->size / 2;
    float scale = node->grad[0] / (float)n;
    int first = nn_grad_first(p);
    for (int i = 0; i < n; i++) {
        const float *restrict mu = p->value + i * 2 * l, *restrict logvar = mu + l;
        float *restrict dmu = p->grad + i * 2 * l, *restrict dlogvar = dmu + l;
        for (size_t j = 0; j < l; j++) {
            float a = scale * mu[j], b = scale * 0.5f * (expf(logvar[j]) - 1.0f);
            dmu[j] = first ? a : dmu[j] + a;
            dlogvar[j] = first ? b : dlogvar[j] + b;
        }
    }
}

/* ---- add: y = a + b -------------------------------------------------------- */

int nn_add_infer(nn_graph *g, nn_node *node, nn_error *err)
{
    const nn_node *a = nn_op_input(g, node, 0), *b = nn_op_input(g, node, 1);
    if (a->batched != b->batched || a->size != b->size)
        return nn_error_set(err, NN_EINPUT, "%s: cannot add %zu values to %zu", node->name, b->size, a->size);
    return nn_infer_same(g, node, err);
}

void nn_add_forward(nn_graph *g, nn_node *node, int n)
{
    const float *restrict a = nn_op_input(g, node, 0)->value, *restrict b = nn_op_input(g, node, 1)->value;
    float *restrict y = node->value;
    size_t len = nn_node_extent(node, n);
    for (size_t i = 0; i < len; i++)
        y[i] = a[i] + b[i];
}

void nn_add_backward(nn_graph *g, nn_node *node, int n)
{
    size_t len = nn_node_extent(node, n);
    for (int k = 0; k < 2; k++) {
        nn_node *x = nn_op_input(g, node, k);
        if (!x->needs_grad)
            continue;
        if (nn_grad_first(x))
            memcpy(x->grad, node->grad, len * sizeof(float));
        else
            nn_vec_axpy(x->grad, 1.0f, node->grad, len);
    }
}
