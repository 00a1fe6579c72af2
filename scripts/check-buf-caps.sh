#!/bin/sh
# scripts/check-buf-caps.sh: every growable buffer in src/ has a cap (style.md, "Bounded by
# default"). Fails on an ag_buf_init whose cap is a bare 0, and on an AG_BUF_UNBOUNDED without a
# comment on its line saying what bounds the buffer instead. Run by ctest as lint.buf_caps.
set -eu
cd "$(dirname "$0")/.."
bad=$(grep -rnE 'ag_buf_init\([^;]*,[[:space:]]*0[[:space:]]*\)' src --include='*.c' --include='*.h' || true)
bare=$(grep -rn 'AG_BUF_UNBOUNDED' src --include='*.c' | grep -v '/\*' || true)
status=0
if [ -n "$bad" ]; then
    echo "ag_buf_init with cap 0 (give it a cap, or AG_BUF_UNBOUNDED with the reason):"
    echo "$bad"
    status=1
fi
if [ -n "$bare" ]; then
    echo "AG_BUF_UNBOUNDED without a comment on its line saying what bounds the buffer:"
    echo "$bare"
    status=1
fi
[ $status = 0 ] && echo "buf caps: every ag_buf_init in src/ has a cap or a stated bound"
exit $status
