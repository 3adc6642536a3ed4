#!/usr/bin/env bash
# Runs every JCStress test in the shaded jar: usage run-jcstress.sh JAR [jcstress options...]
# Fails when the jar lists no test (the annotation processor did not run), when
# JCStress reports a failed or errored test or one that failed its sanity check (API MISMATCH),
# or when it ran fewer tests than it lists.
# A test with more actors than this machine has CPUs is one JCStress skips silently: it is
# named as skipped (not a failure), so that a 2-CPU machine can run the rest.
set -euo pipefail
jar="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"; shift
java="${JAVA_HOME:?JAVA_HOME must name a JDK >= 22}/bin/java"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && "${JAVA_HOME}/bin/jar" xf "$jar" META-INF/TestList 2>/dev/null) || true
listed=$(grep -c . "$tmp/META-INF/TestList" 2>/dev/null || true)
if [ "${listed:-0}" -eq 0 ]; then
  echo "jcstress: $jar lists no test: was the JCStress annotation processor configured (annotationProcessorPaths)?" >&2
  exit 1
fi
echo "jcstress: $listed tests listed in $jar; running with: $*"
log="$tmp/jcstress.log"
results="$PWD/results"
rm -rf "$results"
set +e
# shellcheck disable=SC2068
"$java" --enable-native-access=ALL-UNNAMED -jar "$jar" -r "$results" $@ 2>&1 | tee "$log"
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
# Which listed tests ran: each leaves results/<class>.html. Skipped when the caller chose tests (-t).
ran=$listed
case " $* " in
  *" -t "*) ;;
  *)
    cpus=$(nproc)
    missing=0
    ran=0
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
      actors="${fields[4]:-0}"
      if [ -f "$results/$name.html" ]; then
        ran=$((ran + 1))
      elif [ "$actors" -gt "$cpus" ]; then
        echo "jcstress: SKIPPED $name: it has $actors actors and this machine $cpus CPUs (JCStress does not oversubscribe)" >&2
      else
        echo "jcstress: $name is listed but did not run" >&2
        missing=$((missing + 1))
      fi
    done < "$tmp/META-INF/TestList"
    if [ "$missing" -ne 0 ]; then
      exit 1
    fi
    ;;
esac
echo "jcstress: $ran of $listed listed tests ran and passed"
