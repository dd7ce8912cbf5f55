/* Deal folders that outlived their deals (provider_impl.h). A deal's folder (work_dir/deals/ID:
 * inputs, result, the upload's archive) is removed by its thread once the deal is finished;
 * this catches those a crash or a full disk left behind. */
#include <dirent.h>
#include <stdio.h>
#include <string.h>

#include "image/fs_tree.h"
#include "provider/provider_impl.h"
#include "util/hex.h"
#include "util/log.h"

void lp_provider_sweep_folders(struct lp_provider *p)
{
    char dir[4200], path[4500];
    snprintf(dir, sizeof dir, "%s/deals", p->rt.work_dir);
    size_t removed = 0;
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        uint8_t id[LP_WIRE_ID_LEN];
        struct lp_journal_entry j;
        if (strlen(e->d_name) != 2 * LP_WIRE_ID_LEN ||
            lp_hex_decode(e->d_name, 2 * LP_WIRE_ID_LEN, id, LP_WIRE_ID_LEN) != 0 ||
            lp_journal_get(p->journal, id, &j) != 0 || j.step < LP_JSTEP_POSTED)
            continue; /* unfinished (its thread resumes from it), or not a deal of ours */
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (lp_fs_remove_tree(path) == 0)
            removed++;
        else
            lp_warn("provider: cannot remove the finished deal's folder %s", path);
    }
    if (d)
        closedir(d);
    /* A mediation is not journalled: a restart runs it again from scratch, in a fresh folder. */
    snprintf(path, sizeof path, "%s/mediations", p->rt.work_dir);
    lp_fs_remove_tree(path);
    if (removed)
        lp_info("provider: removed %zu folder%s of finished deals from %s", removed,
                removed == 1 ? "" : "s", dir);
}
