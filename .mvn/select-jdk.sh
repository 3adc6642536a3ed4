# shellcheck shell=sh
# Sourced by ./mvnw, ./jxen and .ci/run: makes JAVA_HOME point at a JDK >= 22.
#
# jxen uses the final Foreign Function & Memory API (java.lang.foreign), which
# arrived in JDK 22. If JAVA_HOME is unset or names an older JDK, look for a
# newer one in the usual places; if there is none, stop with a message that
# says what was found and how to fix it.

jxen_jdk_feature() {
  # prints the feature version (17, 21, 25, ...) of the JDK in $1, or nothing
  [ -x "$1/bin/java" ] && [ -x "$1/bin/javac" ] || return 0
  if [ -r "$1/release" ]; then
    v=$(sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' "$1/release" | head -n 1)
  else
    v=$("$1/bin/java" -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n 1)
  fi
  [ "$v" = "1" ] && v=8
  printf '%s' "$v"
}

jxen_select_jdk() {
  # callers may run with globbing off (mvnw uses set -f); the search needs it
  case $- in *f*) set +f; jxen_select_jdk_search; r=$?; set -f; return $r ;; esac
  jxen_select_jdk_search
}

jxen_select_jdk_search() {
  jxen_found_note=""
  if [ -n "${JAVA_HOME-}" ]; then
    f=$(jxen_jdk_feature "$JAVA_HOME")
    if [ -n "$f" ] && [ "$f" -ge 22 ]; then
      return 0
    fi
    jxen_found_note="JAVA_HOME=$JAVA_HOME is JDK ${f:-?} (too old or not a JDK)"
  fi
  best=""; best_f=0
  for d in /usr/lib/jvm/temurin-25-jdk-amd64 /usr/lib/jvm/* /opt/java/* /opt/jdk* "$HOME"/.sdkman/candidates/java/* "$HOME"/.jdks/*; do
    [ -d "$d" ] || continue
    f=$(jxen_jdk_feature "$d")
    [ -n "$f" ] || continue
    if [ "$f" -ge 22 ] && [ "$f" -gt "$best_f" ]; then best="$d"; best_f="$f"; fi
  done
  if [ -z "$best" ] && command -v javac >/dev/null 2>&1; then
    d=$(dirname "$(dirname "$(readlink -f "$(command -v javac)")")")
    f=$(jxen_jdk_feature "$d")
    if [ -n "$f" ] && [ "$f" -ge 22 ]; then best="$d"; best_f="$f"; fi
    [ -z "$jxen_found_note" ] && jxen_found_note="javac on PATH is JDK ${f:-?} ($d)"
  fi
  if [ -z "$best" ]; then
    echo "jxen: needs a JDK 22 or newer (java.lang.foreign); ${jxen_found_note:-no JDK found}." >&2
    echo "jxen: install one (for example Temurin 25) and point JAVA_HOME at it: export JAVA_HOME=/path/to/jdk-25" >&2
    return 1
  fi
  if [ -n "$jxen_found_note" ] && [ -n "${JXEN_VERBOSE-}" ]; then
    echo "jxen: $jxen_found_note; using JDK $best_f at $best" >&2
  fi
  JAVA_HOME="$best"
  export JAVA_HOME
}
