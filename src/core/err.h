/* core/err.h: the one table of error codes. Functions that can fail return 0 on success and a
 * negative AG_E* value on failure; ag_strerror() names it for humans. */
#ifndef AG_CORE_ERR_H
#define AG_CORE_ERR_H

#define AG_ERRORS(X)                                                                               \
    X(AG_EINVAL, 1, "invalid argument")                                                            \
    X(AG_ENOMEM, 2, "out of memory")                                                               \
    X(AG_ETOOBIG, 3, "size limit exceeded")                                                        \
    X(AG_EAGAIN, 4, "need more input")                                                             \
    X(AG_EPARSE, 5, "malformed input")                                                             \
    X(AG_EIO, 6, "input/output error")                                                             \
    X(AG_ENOTFOUND, 7, "not found")                                                                \
    X(AG_EEXIST, 8, "already exists")                                                              \
    X(AG_ETIMEDOUT, 9, "timed out")                                                                \
    X(AG_ECANCELED, 10, "canceled")                                                                \
    X(AG_EUPSTREAM, 11, "upstream error")                                                          \
    X(AG_EAUTH, 12, "authentication failed")                                                       \
    X(AG_EDB, 13, "database error")                                                                \
    X(AG_ECLOSED, 14, "connection closed")                                                         \
    X(AG_EUNSUPPORTED, 15, "not supported")                                                        \
    X(AG_ESTATE, 16, "invalid state")                                                              \
    X(AG_EDEPTH, 17, "nested too deeply")                                                          \
    X(AG_ENOLIB, 18, "a library it needs could not be loaded (the log says which and why)")

enum ag_err {
#define AG_ERR_ENUM(name, num, text) name = -(num),
    AG_ERRORS(AG_ERR_ENUM)
#undef AG_ERR_ENUM
};

/** Returns a static description of an AG_E* code (or of 0, "success"); never NULL. */
const char *ag_strerror(int err);

/** Returns the symbolic name ("AG_ETOOBIG") of an AG_E* code; never NULL. */
const char *ag_errname(int err);

#endif
