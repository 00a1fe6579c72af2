#!/bin/sh
# tests/fuzz/seeds.sh NAME DIR: writes the seed inputs of harness NAME into DIR: the files under
# tests/fuzz/seeds/NAME/ (regression inputs and hand-made shapes) plus inputs made from the golden
# cases under tests/cases/ with the selector bytes the harness expects (see each fuzz_NAME.c).
set -eu
name=$1
out=$2
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cases=$root/tests/cases
mkdir -p "$out"
if [ -d "$here/seeds/$name" ]; then
    cp "$here/seeds/$name"/* "$out"/ 2>/dev/null || true
fi

# seed OUTFILE PREFIX FILE: PREFIX's bytes (printf format) followed by FILE.
seed() {
    { printf "$2"; cat "$3"; } >"$out/$1"
}

# The client the golden case in directory $1 uses.
client_of() {
    c=$(sed -n 's/.*"client": *"\([a-z-]*\)".*/\1/p' "$1/case.json" 2>/dev/null | head -n 1)
    if [ -n "$c" ]; then echo "$c"; return; fi
    case $1 in
    */gemini-to-*) echo gemini ;;
    */responses-to-*) echo openai-responses ;;
    */anthropic-to-*) echo anthropic ;;
    */images-to-*) echo openai-images ;;
    *) echo openai-chat ;;
    esac
}

has() { grep -q "\"$2\": *true" "$1/case.json" 2>/dev/null; }

for d in "$cases"/*/*/; do
    d=${d%/}
    id=$(basename "$(dirname "$d")")-$(basename "$d")
    client=$(client_of "$d")
    case $name in
    sse)
        [ ! -f "$d/upstream_reply.sse" ] || seed "$id" 'A' "$d/upstream_reply.sse"
        ;;
    decode)
        # selector 'A' + variant of fuzz_decode.c
        case $client in
        openai-chat) s=A ;;
        openai-completions) s=B ;;
        openai-responses) s=C ;;
        anthropic) if has "$d" count_tokens; then s=E; else s=D; fi ;;
        gemini)
            if has "$d" count_tokens; then s=I; elif has "$d" sse; then s=G;
            elif has "$d" stream; then s=H; else s=F; fi ;;
        openai-images) s=J ;;
        *) s= ;;
        esac
        [ -z "$s" ] || [ ! -f "$d/client_request.json" ] || seed "$id" "$s" "$d/client_request.json"
        ;;
    multipart)
        ct=$(sed -n 's/.*"content_type": *"\([^"]*\)".*/\1/p' "$d/case.json" 2>/dev/null | head -n 1)
        if [ "$client" = openai-image-edits ] && [ -f "$d/client_request.json" ]; then
            n=$(printf %s "$ct" | wc -c)
            seed "$id" "\\$(printf %o "$n")$ct" "$d/client_request.json"
        fi
        ;;
    upstream)
        # rows of fuzz_upstream.c for this client; the first two modes for SSE, the last two
        # for JSON
        case $client in
        openai-chat) rows="A B" ;;
        openai-completions) rows="C" ;;
        openai-responses) rows="D E" ;;
        anthropic) if has "$d" count_tokens; then rows=H; else rows="F G"; fi ;;
        gemini) if has "$d" count_tokens; then rows=L; else rows="I J K"; fi ;;
        *) rows="M N" ;;
        esac
        # the mode letters of the case's upstream adapter (a-d Cloud Code, e-h OpenAI,
        # i-l Anthropic, m-p Gemini API)
        case $d in
        *-to-openai*) set -- e f g h ;;
        *-to-anthropic/*) set -- i j k l ;;
        *-to-gemini/*) set -- m n o p ;;
        *) set -- a b c d ;;
        esac
        for r in $rows; do
            if [ -f "$d/upstream_reply.sse" ]; then
                seed "$id-${r}$1" "${r}$1" "$d/upstream_reply.sse"
                seed "$id-${r}$2" "${r}$2" "$d/upstream_reply.sse"
            fi
            if [ -f "$d/upstream_reply.json" ]; then
                seed "$id-${r}$3" "${r}$3" "$d/upstream_reply.json"
                seed "$id-${r}$4" "${r}$4" "$d/upstream_reply.json"
            fi
        done
        ;;
    http)
        # a few real bodies as authorised requests, cut inside the headers and (-body) right
        # after them, where the server reads the body in place
        case $id in
        openai-to-cloudcode-plain-text | openai-to-cloudcode-tool-choice-named) path=/v1/chat/completions ;;
        anthropic-to-cloudcode-plain-text | anthropic-to-cloudcode-system-blocks) path=/v1/messages ;;
        gemini-to-cloudcode-generate-content) path=/v1beta/models/gemini-2.5-flash:generateContent ;;
        *) path= ;;
        esac
        if [ -n "$path" ]; then
            n=$(wc -c <"$d/client_request.json" | tr -d ' ')
            h="POST $path HTTP/1.1\r\nHost: localhost:8045\r\nAuthorization: Bearer sk-fuzz-key\r\nContent-Type: application/json\r\nContent-Length: $n\r\n\r\n"
            seed "$id" "\\120$h" "$d/client_request.json"
            hl=$(printf "$h" | wc -c | tr -d ' ')
            seed "$id-body" "\\$(printf %o "$hl")$h" "$d/client_request.json"
        fi
        ;;
    esac
done
