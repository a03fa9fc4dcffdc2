#!/usr/bin/env bash
# Summary of the skipped checks recorded by the tests (tests/src/skip.rs) in a file of lines
# `test<TAB>reason<TAB>detail`; tests/run.sh sources it. A test that skipped for one reason twice
# counts once. Also runs on its own: `bash tests/skipped.sh target/skipped-checks.tsv`.
#
#   skip_summary FILE   # `nothing skipped`, or e.g. `6 checks skipped: shared datasets absent (4), Chromium absent (2)`
#   skip_details FILE   # one line per skipped check: `  test: reason, detail`

skip_summary() {
    local log="$1" total reasons
    if [ ! -s "$log" ]; then
        echo "nothing skipped"
        return
    fi
    total="$(awk -F'\t' '!seen[$1 FS $2]++' "$log" | wc -l)"
    # Reasons by count, most first.
    reasons="$(awk -F'\t' '!seen[$1 FS $2]++ { n[$2]++ } END { for (r in n) printf "%d\t%s\n", n[r], r }' "$log" |
        sort -t "$(printf '\t')" -k1,1nr -k2,2 |
        awk -F'\t' '{ printf "%s%s (%d)", (NR > 1 ? ", " : ""), $2, $1 }')"
    if [ "$total" -eq 1 ]; then
        echo "1 check skipped: $reasons"
    else
        echo "$total checks skipped: $reasons"
    fi
}

skip_details() {
    [ -s "$1" ] || return 0
    awk -F'\t' '!seen[$1 FS $2]++ { printf "  %s: %s, %s\n", $1, $2, $3 }' "$1" | sort
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    set -euo pipefail
    skip_details "$1"
    skip_summary "$1"
fi
