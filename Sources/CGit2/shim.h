#ifndef ROLLBACK_CGIT2_SHIM_H
#define ROLLBACK_CGIT2_SHIM_H
#include <git2.h>

/// `git_libgit2_opts` is variadic and so unavailable to Swift; this wrapper exposes the one
/// option the agent sets (owner validation of repositories).
static inline int rollback_git_set_owner_validation(int enabled) {
    return git_libgit2_opts(GIT_OPT_SET_OWNER_VALIDATION, enabled);
}
#endif
