/* Putting a model file's contents back to work: its weights into a graph
 * built from its spec, or its whole training state into a trainer so that
 * the next step is the one the saved run would have taken. */
#include "checkpoint.h"

#include <stdio.h>
#include <string.h>

#include "checkpoint_format.h"
#include "model.h"

int nn_checkpoint_check_fit(const nn_checkpoint *ck, const nn_graph *g, nn_error *err)
{
    int n_params = 0;
    for (int k = 0; k < g->n_nodes; k++)
        n_params += g->nodes[k].op == NN_OP_PARAM;
    if (ck->n_tensors != n_params)
        return nn_error_set(err, NN_EINPUT, "%s: the file has %d parameter tensors, the model %d: "
                            "the parameters do not fit the spec", ck->path, ck->n_tensors, n_params);
    /* Parameter tensors are numbered in node order (nn_graph_finalise). */
    for (int i = 0, k = 0; i < ck->n_tensors; i++, k++) {
        const nn_checkpoint_tensor *p = &ck->tensors[i];
        while (g->nodes[k].op != NN_OP_PARAM)
            k++;
        const nn_node *node = &g->nodes[k];
        int same = !strcmp(p->name, node->name) && p->ndim == node->ndim;
        for (int d = 0; same && d < p->ndim; d++)
            same = p->dim[d] == node->dim[d];
        if (!same) {
            char stored[64], built[64];
            nn_shape_format(p->ndim, p->dim, stored, sizeof stored);
            nn_shape_format(node->ndim, node->dim, built, sizeof built);
            return nn_error_set(err, NN_EINPUT, "%s: parameter %d is %s [%s] in the file, %s [%s] in the model: "
                                "the parameters do not fit the spec", ck->path, i + 1, p->name, stored,
                                node->name, built);
        }
    }
    return NN_OK;
}

int nn_checkpoint_apply(const nn_checkpoint *ck, nn_graph *g, nn_error *err)
{
    int rc = nn_checkpoint_check_fit(ck, g, err);
    if (rc)
        return rc;
    for (int i = 0; i < ck->n_tensors; i++)
        memcpy(nn_graph_param_node(g, i)->value, ck->tensors[i].value, ck->tensors[i].size * sizeof(float));
    return NN_OK;
}

int nn_checkpoint_build(const nn_checkpoint *ck, nn_graph *g, int max_batch, nn_error *err)
{
    int rc = nn_model_build(g, &ck->spec, &ck->hp, max_batch, err);
    if (rc)
        return rc;
    if ((rc = nn_checkpoint_apply(ck, g, err)) || (rc = nn_checkpoint_attach_quant(ck, g, err))) {
        nn_graph_free(g);
        return rc;
    }
    g->training = 0;
    return NN_OK;
}

int nn_checkpoint_load_model(const char *path, nn_spec *spec, nn_graph *g, int max_batch, nn_error *err)
{
    nn_checkpoint ck;
    memset(spec, 0, sizeof *spec);
    int rc = nn_checkpoint_load(&ck, path, err);
    if (rc)
        return rc;
    rc = nn_spec_parse(spec, ck.spec.text, ck.spec.source, err);
    if (!rc && (rc = nn_checkpoint_build(&ck, g, max_batch, err)))
        nn_spec_free(spec);
    nn_checkpoint_free(&ck);
    return rc;
}

static int restore(nn_trainer *t, const nn_checkpoint *ck, nn_error *err)
{
    nn_graph *g = &t->graph;
    int rc = nn_checkpoint_apply(ck, g, err);
    if (rc)
        return rc;
    if (ck->has_optim) {
        for (int i = 0; i < ck->n_tensors; i++) {
            const nn_node *p = nn_graph_param_node(g, i);
            const nn_checkpoint_tensor *c = &ck->tensors[i];
            if (c->m) /* else zero, as nn_optim_init left it */
                memcpy(t->optim.m + p->param_offset, c->m, p->size * sizeof(float));
            if (c->v)
                memcpy(t->optim.v + p->param_offset, c->v, p->size * sizeof(float));
        }
        t->optim.t = ck->optim_t;
    }
    for (int i = 0; i < ck->n_rngs; i++) /* a stream this nnlab does not have is not needed by it */
        for (int k = 0; k < NN_CKPT_STREAMS; k++)
            if (!strcmp(ck->rngs[i].name, nn_checkpoint_streams[k].name))
                *(nn_rng *)((char *)t + nn_checkpoint_streams[k].offset) = ck->rngs[i].state;
    if (ck->has_position) {
        if (ck->train_count != t->train->count)
            return nn_error_set(err, NN_EINPUT, "%s was trained on %zu images, but this training set has %zu: "
                                "resume with the same --data", ck->path, ck->train_count, t->train->count);
        memcpy(t->order, ck->order, ck->train_count * sizeof *t->order);
        t->pos = ck->pos;
        t->epoch = ck->epoch;
        t->step = ck->step;
        t->epoch_loss = ck->epoch_loss;
        t->epoch_seen = ck->epoch_seen;
        t->epoch_correct = ck->epoch_correct;
        t->train_seconds = ck->train_seconds;
    }
    for (int e = 0; e < ck->n_history; e++)
        if ((rc = nn_trainer_record_epoch(t, &ck->history[e], err)))
            return rc;
    snprintf(t->dataset, sizeof t->dataset, "%s", ck->dataset);
    t->test_count = ck->test_count;
    return NN_OK;
}

int nn_checkpoint_resume(nn_trainer *t, const nn_checkpoint *ck, const nn_hparams *hp, const nn_dataset *train,
                         nn_error *err)
{
    return nn_checkpoint_resume_max(t, ck, hp, train, 0, err);
}

int nn_checkpoint_resume_max(nn_trainer *t, const nn_checkpoint *ck, const nn_hparams *hp, const nn_dataset *train,
                             int max_batch, nn_error *err)
{
    if (!hp)
        hp = &ck->hp;
    int rc = nn_trainer_init_max(t, &ck->spec, hp, train, max_batch, err);
    if (rc)
        return rc;
    if ((rc = restore(t, ck, err)))
        nn_trainer_free(t);
    return rc;
}
