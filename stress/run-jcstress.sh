#!/usr/bin/env bash
# Runs the JCStress tests in the shaded jar: usage run-jcstress.sh JAR [jcstress options...]
# (the options may come as one word, as Maven passes them: "-m sanity -t Grant").
# With -t REGEX only the tests JCStress selects with that filter run (it lists them first, -l).
# Fails when the jar lists no test (the annotation processor did not run), when the filter
# selects none, when JCStress reports a failed or errored test or one that failed its sanity
# check (API MISMATCH), or when it ran fewer tests than were selected (all listed ones without -t).
# A test with more actors than this machine has CPUs is one JCStress skips silently: it is
# named as skipped (not a failure), so that a 2-CPU machine can run the rest.
set -euo pipefail
jar="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"; shift
java="${JAVA_HOME:?JAVA_HOME must name a JDK >= 22}/bin/java"
# the options split into words, without globbing (a filter such as .*Grant.* is no file name)
set -f
# shellcheck disable=SC2206
options=($*)
set +f
filter=
for ((i = 0; i + 1 < ${#options[@]}; i++)); do
  if [ "${options[i]}" = -t ]; then
    filter=${options[i + 1]}
  fi
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && "${JAVA_HOME}/bin/jar" xf "$jar" META-INF/TestList 2>/dev/null) || true
listed=$(grep -c . "$tmp/META-INF/TestList" 2>/dev/null || true)
if [ "${listed:-0}" -eq 0 ]; then
  echo "jcstress: $jar lists no test: was the JCStress annotation processor configured (annotationProcessorPaths)?" >&2
  exit 1
fi
# The selected tests, one name a line: JCStress's own choice for -t (its regex, its matching).
selection="$tmp/selected"
if [ -n "$filter" ]; then
  "$java" --enable-native-access=ALL-UNNAMED -jar "$jar" -l -t "$filter" > "$tmp/list.log" 2>&1 || {
    cat "$tmp/list.log" >&2
    echo "jcstress: listing the tests that -t $filter selects failed" >&2
    exit 1
  }
  sed 's/\r$//' "$tmp/list.log" | sort -u > "$tmp/list.lines"
else
  : > "$tmp/list.lines"
fi
names="$tmp/names"
: > "$names"
: > "$selection"
while IFS= read -r line; do
  # a TestList line: JCTEST, then fields <length><type><value>: class, class, runner, description, actor count, ...
  rest="${line#JCTEST}"
  fields=()
  while [[ $rest =~ ^([0-9]+)([A-Z]) ]]; do
    n=${BASH_REMATCH[1]}
    rest="${rest:$((${#n} + 1))}"
    fields+=("${rest:0:$n}")
    rest="${rest:$n}"
    [ "${#fields[@]}" -ge 5 ] && break
  done
  name="${fields[0]:-?}"
  echo "$name" >> "$names"
  if [ -z "$filter" ] || grep -qxF "$name" "$tmp/list.lines"; then
    echo "$name ${fields[4]:-0}" >> "$selection"
  fi
done < "$tmp/META-INF/TestList"
selected=$(grep -c . "$selection" || true)
if [ -n "$filter" ]; then
  if [ "$selected" -eq 0 ]; then
    echo "jcstress: -t $filter selects none of the $listed tests in $jar:" >&2
    sed 's/^/  /' "$names" >&2
    exit 1
  fi
  echo "jcstress: -t $filter selects $selected of the $listed tests in $jar; running with: ${options[*]}"
else
  echo "jcstress: $listed tests listed in $jar; running with: ${options[*]}"
fi
log="$tmp/jcstress.log"
results="$PWD/results"
rm -rf "$results"
set +e
"$java" --enable-native-access=ALL-UNNAMED -jar "$jar" -r "$results" "${options[@]}" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
set -e
if [ "$rc" -ne 0 ]; then
  echo "jcstress: exited with status $rc" >&2
  exit "$rc"
fi
if grep -Eq '^\s*\[(FAILED|ERROR)\]|has failed|had failed|FAILED tests' "$log"; then
  echo "jcstress: some tests failed: see the results above and in $results" >&2
  exit 1
fi
# A test whose state or actors throw in JCStress's sanity check (e.g. a class missing from the jar)
# is only counted as a "soft err" on the console; the results say API MISMATCH.
if grep -q 'API MISMATCH' "$results"/*.html 2>/dev/null; then
  echo "jcstress: some tests failed JCStress's sanity check (API MISMATCH: their state or actors threw;" \
    "run one with -t NAME -v to see why): see $results/index.html" >&2
  exit 1
fi
# Which selected tests ran: each leaves results/<class>.html.
cpus=$(nproc)
missing=0
ran=0
skipped=0
while read -r name actors; do
  if [ -f "$results/$name.html" ]; then
    ran=$((ran + 1))
  elif [ "$actors" -gt "$cpus" ]; then
    echo "jcstress: SKIPPED $name: it has $actors actors and this machine $cpus CPUs (JCStress does not oversubscribe)" >&2
    skipped=$((skipped + 1))
  else
    echo "jcstress: $name is selected but did not run" >&2
    missing=$((missing + 1))
  fi
done < "$selection"
if [ "$missing" -ne 0 ]; then
  exit 1
fi
if [ -n "$filter" ]; then
  what="selected (-t $filter, of $listed listed)"
else
  what="listed"
fi
summary="jcstress: $ran of $selected $what tests ran and passed"
if [ "$skipped" -ne 0 ]; then
  summary+=", $skipped skipped for want of CPUs"
fi
echo "$summary"
