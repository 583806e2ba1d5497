#ifndef ROLLBACK_CGIT2_SHIM_H
#define ROLLBACK_CGIT2_SHIM_H
#include <git2.h>
#include <git2/sys/mempack.h>

/// `git_libgit2_opts` is variadic and so unavailable to Swift; these wrappers expose the
/// options the agent sets.
static inline int rollback_git_set_owner_validation(int enabled) {
    return git_libgit2_opts(GIT_OPT_SET_OWNER_VALIDATION, enabled);
}

/// How much of pack files libgit2 maps at once (`window` bytes per window, `limit` in all).
static inline int rollback_git_set_pack_windows(size_t window, size_t limit) {
    int code = git_libgit2_opts(GIT_OPT_SET_MWINDOW_SIZE, window);
    return code != 0 ? code : git_libgit2_opts(GIT_OPT_SET_MWINDOW_MAPPED_LIMIT, limit);
}
#endif
