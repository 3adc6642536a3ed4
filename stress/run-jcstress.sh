#!/usr/bin/env bash
# Runs every JCStress test in the shaded jar: usage run-jcstress.sh JAR [jcstress options...]
# Fails when the jar lists no test (the annotation processor did not run), when
# JCStress reports a failed or errored test, or when it ran fewer tests than it lists.
set -euo pipefail
jar="$1"; shift
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
set +e
# shellcheck disable=SC2068
"$java" --enable-native-access=ALL-UNNAMED -jar "$jar" $@ 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
set -e
if [ "$rc" -ne 0 ]; then
  echo "jcstress: exited with status $rc" >&2
  exit "$rc"
fi
if grep -Eq '^\s*\[(FAILED|ERROR)\]|has failed|had failed|FAILED tests' "$log"; then
  echo "jcstress: some tests failed: see the results above and in $(pwd)/results" >&2
  exit 1
fi
echo "jcstress: all $listed listed tests passed"
