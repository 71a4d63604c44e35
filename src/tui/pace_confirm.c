/* Asking how to pace a large release, requeue or delivery. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "pace_confirm.h"
#include "prompt.h"
#include "qtriage/pace.h"
#include "qtriage/util.h"

bool pace_confirm_wanted(const struct app *a, enum qt_action act, size_t n)
{
    return qt_pace_applies(act) && (n > QT_PACE_DEFAULT_ABOVE || a->opt->confirm_all);
}

void pace_confirm_free(struct app *a)
{
    free(a->job.asked.t);
    free(a->job.asked.ids);
    memset(&a->job.asked, 0, sizeof(a->job.asked));
}

static unsigned pace_submit(struct app *a, const char *text)
{
    struct qt_pace pace = a->job.asked.pace;
    struct qt_error err = {""};
    bool paced = a->job.asked.paced;

    while (*text == ' ')
        text++;
    if (strcmp(text, "all") == 0) {
        paced = false;
    } else if (*text) {
        if (!qt_pace_parse_rate(text, &pace, &err)) {
            app_message(a, true, "%s (Enter: as proposed, all: unpaced, Esc: cancel)", err.msg);
            return R_REDRAW;    /* the bar stays open */
        }
        paced = true;
    }
    prompt_close(a);
    if (paced)
        action_job_start_paced(a, a->job.asked.act, a->job.asked.t, a->job.asked.n, &pace);
    else
        action_job_start(a, JOB_ACTION, a->job.asked.act, a->job.asked.t, a->job.asked.n, NULL,
                         NULL);
    pace_confirm_free(a);
    return R_REDRAW;
}

static unsigned pace_cancel(struct app *a)
{
    prompt_close(a);
    pace_confirm_free(a);
    app_message(a, false, "cancelled: nothing was done");
    return R_REDRAW;
}

static const struct prompt_type pace_prompt = {.submit = pace_submit, .cancel = pace_cancel};

unsigned pace_confirm_open(struct app *a, enum qt_action act, const struct qt_action_target *t,
                           size_t n)
{
    char label[256];
    size_t i, len = 0;
    char *p;

    pace_confirm_free(a);
    for (i = 0; i < n; i++)
        len += strlen(t[i].id) + 1;
    a->job.asked.ids = p = xmalloc(len ? len : 1);
    a->job.asked.t = xcalloc(n ? n : 1, sizeof(*a->job.asked.t));
    for (i = 0; i < n; i++) {
        size_t l = strlen(t[i].id) + 1;

        memcpy(p, t[i].id, l);
        a->job.asked.t[i].id = p;
        a->job.asked.t[i].queue = t[i].queue;
        p += l;
    }
    a->job.asked.n = n;
    a->job.asked.act = act;
    a->job.asked.paced = qt_pace_default(&a->layout, n, &a->job.asked.pace, a->job.asked.how,
                                         sizeof(a->job.asked.how));
    if (a->job.asked.paced)
        /* The keys first: the proposed pace is long and a narrow
         * terminal cuts the end of the line. */
        snprintf(label, sizeof(label), "%s %zu messages? Enter: paced, all: unpaced, N/s: "
                 "that rate, Esc: no (%.120s): ", qt_action_describe(act)->verb, n,
                 a->job.asked.how);
    else
        snprintf(label, sizeof(label), "%s %zu message%s? Enter: all at once; N/s: paced at "
                 "that rate; Esc: no: ", qt_action_describe(act)->verb, n, n == 1 ? "" : "s");
    prompt_open(a, &pace_prompt, label, "");
    return R_REDRAW;
}
