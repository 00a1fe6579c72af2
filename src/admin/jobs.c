/* admin/jobs.c: worker jobs. A handler's database work runs on a libuv worker thread with a
 * store connection of the admin layer's own (a small pool of idle ones); the answer is written
 * back on the loop, or dropped when the client went away meanwhile. */
#include "admin/admin_internal.h"

#include "core/err.h"
#include "core/mem.h"
#include "http/server.h"
#include "store/store.h"

#include <stdlib.h>

/* ---- worker jobs ---- */

static struct ag_store *db_take(struct ag_admin *a, char *err, size_t cap)
{
    struct ag_store *s = NULL;
    pthread_mutex_lock(&a->db_mu);
    if (a->ndb_idle)
        s = a->db_idle[--a->ndb_idle];
    pthread_mutex_unlock(&a->db_mu);
    if (!s && ag_store_open_with(a->data_dir, a->postgres_url, &s, err, cap))
        s = NULL;
    return s;
}

static void db_give(struct ag_admin *a, struct ag_store *s)
{
    pthread_mutex_lock(&a->db_mu);
    if (a->ndb_idle < ADM_DB_POOL) {
        a->db_idle[a->ndb_idle++] = s;
        s = NULL;
    }
    pthread_mutex_unlock(&a->db_mu);
    ag_store_free(s);
}

static void job_abort(struct ag_http_req *req, void *ud)
{
    struct adm_job *j = ud;
    j->req = NULL;
}

struct adm_job *adm_job_new(struct ag_admin *a, struct ag_http_req *req, adm_work_fn work,
                            adm_done_fn done)
{
    struct adm_job *j = AG_NEW(struct adm_job);
    j->a = a;
    j->req = req;
    j->work = work;
    j->done = done;
    j->status = 200;
    ag_buf_init(&j->out, AG_BUF_CAP_DOC);
    j->w.data = j;
    return j;
}

static void job_work(uv_work_t *w)
{
    struct adm_job *j = w->data;
    struct ag_store *s = db_take(j->a, j->err, sizeof(j->err));
    if (!s) {
        j->rc = AG_EDB;
        return;
    }
    j->rc = j->work(s, j);
    db_give(j->a, s);
}

static void job_after(uv_work_t *w, int status)
{
    struct adm_job *j = w->data;
    if (!j->req && j->always_done && j->done) {
        j->done(j);
    } else if (j->req) {
        j->req->on_abort = NULL;
        if (status == UV_ECANCELED)
            j->rc = AG_ECANCELED;
        if (j->done)
            j->done(j);
        else if (j->rc)
            adm_error_rc(j->req, j->rc, j->err);
        else
            adm_json(j->req, j->status, &j->out);
    }
    if (j->free_arg)
        j->free_arg(j->arg);
    ag_buf_dispose(&j->out);
    free(j);
}

void adm_job_start(struct adm_job *j)
{
    if (j->req) {
        j->req->on_abort = job_abort;
        j->req->cb_ud = j;
    }
    if (uv_queue_work(j->a->loop, &j->w, job_work, job_after) != 0) {
        if (j->req) {
            j->req->on_abort = NULL;
            adm_error(j->req, 503, "unavailable", NULL, "cannot start a worker");
        }
        if (j->free_arg)
            j->free_arg(j->arg);
        ag_buf_dispose(&j->out);
        free(j);
    }
}
