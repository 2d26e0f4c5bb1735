/* Latent codes to images: the decoder half of a variational autoencoder,
 * run on its own by writing codes into the latent sample node and running
 * the graph forward from the node after it to the output. */
#include "latent.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ops.h"

int nn_latent_node(const nn_graph *g)
{
    int found = -1;
    for (int i = 0; i < g->n_nodes; i++)
        if (g->nodes[i].op == NN_OP_GAUSSIAN)
            found = i;
    return found;
}

int nn_latent_size(const nn_graph *g)
{
    int z = nn_latent_node(g);
    return z < 0 ? 0 : (int)g->nodes[z].size;
}

/* The height and width of the model's images: input 1xHxW or HxW. */
static int image_size(const nn_graph *g, int *h, int *w)
{
    const nn_node *in = &g->nodes[g->input];
    if (in->ndim == 3 && in->dim[0] == 1) {
        *h = in->dim[1];
        *w = in->dim[2];
    } else if (in->ndim == 2) {
        *h = in->dim[0];
        *w = in->dim[1];
    } else {
        return -1;
    }
    return 0;
}

int nn_latent_decode(nn_graph *g, const float *z, int n, float *images, nn_error *err)
{
    int zi = nn_latent_node(g);
    if (zi < 0 || !g->reconstructs || g->output < zi)
        return nn_error_set(err, NN_EINPUT, "the model has no latent code to decode (it needs a gaussian layer "
                            "and a loss with target=input)");
    nn_node *code = &g->nodes[zi];
    const nn_node *out = &g->nodes[g->output];
    int logits = 0; /* a Bernoulli decoder outputs logits: its loss is sigmoid_bce */
    for (int i = g->output + 1; i < g->n_nodes; i++)
        logits |= g->nodes[i].op == NN_OP_SIGMOID_BCE && g->nodes[i].in[0] == g->output;
    int saved = g->training;
    g->training = 0;
    for (int start = 0; start < n; start += g->max_batch) {
        int m = n - start < g->max_batch ? n - start : g->max_batch;
        memcpy(code->value, z + (size_t)start * code->size, (size_t)m * code->size * sizeof(float));
        nn_graph_forward_range(g, zi + 1, g->output, m);
        float *dst = images + (size_t)start * out->size;
        for (size_t i = 0; i < (size_t)m * out->size; i++) {
            float v = logits ? nn_sigmoidf(out->value[i]) : out->value[i];
            dst[i] = v < 0.0f ? 0.0f : v > 1.0f ? 1.0f : v;
        }
    }
    g->training = saved;
    return NN_OK;
}

/* The p-quantile of N(0, 1), by bisection on the normal CDF. */
static double normal_quantile(double p)
{
    double lo = -10, hi = 10;
    for (int i = 0; i < 100; i++) {
        double mid = 0.5 * (lo + hi);
        if (0.5 * erfc(-mid / sqrt(2.0)) < p)
            lo = mid;
        else
            hi = mid;
    }
    return 0.5 * (lo + hi);
}

int nn_latent_grid(nn_graph *g, int rows, int cols, uint64_t seed, unsigned char *pixels, int *width,
                   int *height, nn_error *err)
{
    int h, w, l = nn_latent_size(g);
    if (l == 0 || !g->reconstructs)
        return nn_latent_decode(g, NULL, 0, NULL, err);
    if (image_size(g, &h, &w) || g->nodes[g->output].size != (size_t)h * w)
        return nn_error_set(err, NN_EINPUT, "the model's input is not one greyscale image (1xHxW)");
    if (rows < 1 || cols < 1 || rows > 256 || cols > 256)
        return nn_error_set(err, NN_EINPUT, "a sample grid of %dx%d is out of range (1..256 each way)", rows, cols);
    int n = rows * cols;
    float *z = malloc((size_t)n * l * sizeof *z), *images = malloc((size_t)n * h * w * sizeof *images);
    if (!z || !images) {
        free(z);
        free(images);
        return nn_error_set(err, NN_ERUNTIME, "out of memory for a %dx%d sample grid", rows, cols);
    }
    nn_rng rng;
    nn_rng_seed(&rng, seed);
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++) {
            float *code = z + ((size_t)r * cols + c) * l;
            if (l == 2) { /* quantiles 0.05 .. 0.95, so the grid spans most of the prior's mass */
                code[0] = (float)normal_quantile(0.05 + 0.9 * (c + 0.5) / cols);
                code[1] = (float)normal_quantile(0.05 + 0.9 * (rows - r - 0.5) / rows);
            } else {
                for (int k = 0; k < l; k++)
                    code[k] = nn_rng_normal(&rng);
            }
        }
    int rc = nn_latent_decode(g, z, n, images, err);
    if (rc == NN_OK) {
        *width = cols * w;
        *height = rows * h;
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++) {
                const float *img = images + ((size_t)r * cols + c) * h * w;
                for (int y = 0; y < h; y++)
                    for (int x = 0; x < w; x++)
                        pixels[((size_t)r * h + y) * *width + (size_t)c * w + x] =
                            (unsigned char)lrintf(255.0f * img[y * w + x]);
            }
    }
    free(z);
    free(images);
    return rc;
}
