/* Directory-tree helpers the image store and the process executor share. None of them follows a
 * symbolic link: an image's rootfs is hostile data, and its links point into the image, not into
 * the host. (They live here, beside their first user; they could move to core/util.) */
#ifndef LP_IMAGE_FS_TREE_H
#define LP_IMAGE_FS_TREE_H

#include <stdint.h>
#include <sys/types.h>

/* Removes name (file, link or whole directory) under dirfd. 0 also when it does not exist. */
int lp_fs_remove_tree_at(int dirfd, const char *name);
int lp_fs_remove_tree(const char *path);
/* Removes everything inside the directory dirfd, keeping the directory. */
int lp_fs_empty_dir_at(int dirfd);

/* mkdir -p; existing directories are fine. */
int lp_fs_mkdir_p(const char *path, mode_t mode);

/* Copies the tree src to dst (which must not exist): directories, regular files (with
 * copy_file_range), symbolic links as links; modes and, as root, owners are kept. Other kinds
 * are skipped. */
int lp_fs_copy_tree(const char *src, const char *dst);

/* Bytes held by regular files under path (apparent sizes), and how many entries; -1 on error. */
int lp_fs_tree_usage(const char *path, uint64_t *bytes, uint64_t *entries);

#endif
