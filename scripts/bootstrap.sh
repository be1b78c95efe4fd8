#!/usr/bin/env bash
# bootstrap.sh - install what kluis needs on Debian 12, build it, and run the demo or the tests.
#
#   bash scripts/bootstrap.sh demo    install, build, run `kluis demo`
#   bash scripts/bootstrap.sh test    install, build, run every test (also under ASan+UBSan
#                                     and valgrind, and a Release build with warnings as errors),
#                                     and a short run of every fuzz target
#   bash scripts/bootstrap.sh bench   install, build, and the peers the benchmarks run beside
#                                     (pass, GNU time); then see docs/PERFORMANCE.md
#
# Run as root (or with sudo available). Every dependency kluis has is installed here, so a
# missing step fails CI instead of hiding on a developer's machine.
set -euo pipefail

cd "$(dirname "$0")/.."
mode=${1:-demo}

DEPS=(build-essential cmake pkg-config git gnupg
      libgit2-dev libgpgme-dev libarchive-dev zlib1g-dev libjansson-dev libgcrypt20-dev librnp-dev
      libcmocka-dev valgrind python3 tar gzip
      sqv                           # tests/e2e/stock_witness.sh: Sequoia, a second OpenPGP verifier
      strace                        # tests/e2e/transfer.sh injects faults and delays with it
      gitolite3 openssh-server      # tests/e2e/gitolite.sh: the central server (scripts/server-setup.sh)
      scdoc man-db                  # the man pages (docs/man/*.scd to roff); install.sh reads them
      tzdata                        # tests/e2e/inzage_report.sh checks Amsterdam times against zoneinfo
      exim4-daemon-light            # tests/e2e/notify.sh: the real MTA hooks/notify-mail sends through
      chromium fonts-dejavu-core    # tests/e2e/inzage_export.sh renders the HTML inzage headless
      clang libclang-rt-14-dev)     # fuzz/: libFuzzer (the runtime is only recommended by clang)
BENCH_DEPS=(pass time)              # bench/: the peer (pass), /usr/bin/time -v

install_deps() { # install_deps PACKAGE...
  local missing=() sudo=
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "bootstrap: installing ${missing[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

build() { # build DIR [cmake args...]
  local dir=$1; shift
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
  cmake --build "$dir" -j"$(nproc)"
}
# What users run: none of the tests' switches (KLUIS_NOW and the like), no tests, warnings
# not errors (a newer compiler's new warning must not stop a user's build). The test build:
# the switches, the tests, warnings as errors. Every setting is given, so a build directory
# configured one way before is not left half the other.
# run_ctest DIR ARGS...: ctest in DIR; a test that skipped (exit 77, saying why) fails the run
# too, since everything a test needs is installed above: a skip here is a missing piece
run_ctest() {
  local dir=$1 log
  shift
  log=$(mktemp)
  (cd "$dir" && ctest --output-on-failure "$@") | tee "$log"
  local rc=${PIPESTATUS[0]}
  if grep -q 'tests did not run' "$log"; then
    echo "bootstrap: a test skipped (its SKIP line says why); every test must run here" >&2
    rc=1
  fi
  rm -f "$log"
  return "$rc"
}
USER_BUILD=(-DKLUIS_TEST_SEAMS=OFF -DBUILD_TESTING=OFF -DKLUIS_WERROR=OFF -DKLUIS_SANITIZE=OFF)
TEST_BUILD=(-DKLUIS_TEST_SEAMS=ON -DBUILD_TESTING=ON -DKLUIS_WERROR=ON)

case "$mode" in
  bench) install_deps "${DEPS[@]}" "${BENCH_DEPS[@]}" ;;
  *) install_deps "${DEPS[@]}" ;;
esac
case "$mode" in
  demo)
    build build "${USER_BUILD[@]}"
    ./build/kluis demo
    ;;
  test)
    start=$(date +%s)
    build build "${TEST_BUILD[@]}" -DKLUIS_SANITIZE=OFF
    # release/seams (label release) also builds the Release type, -Werror, switches off, into
    # build/release, and checks it obeys none of the switches and runs kluis demo
    echo "== tests (test build; and a Release build as users build it)"
    run_ctest build -j2 -LE valgrind
    echo "== tests under AddressSanitizer + UndefinedBehaviorSanitizer"
    build build-asan "${TEST_BUILD[@]}" -DKLUIS_SANITIZE=ON
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
      run_ctest build-asan -j2 -LE 'valgrind|release'
    echo "== tests under valgrind"
    run_ctest build -L valgrind
    # a short run of every fuzz target from its seeds (docs/RELIABILITY.md): a crash fails
    # here and prints its reproducer
    echo "== fuzz smoke run (libFuzzer, ASan+UBSan)"
    CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DKLUIS_FUZZ=ON -DKLUIS_TEST_SEAMS=OFF \
      -DBUILD_TESTING=OFF -DKLUIS_WERROR=ON -DKLUIS_SANITIZE=OFF >/dev/null
    cmake --build build-fuzz -j"$(nproc)" --target fuzz
    bash fuzz/run.sh build-fuzz 10
    echo "bootstrap: all tests passed in $(( $(date +%s) - start )) s"
    ;;
  bench)
    # the benchmarks' set-up uses KLUIS_NO_FSYNC (bench/lib.sh): a test build, without its tests
    build build "${TEST_BUILD[@]}" -DBUILD_TESTING=OFF -DKLUIS_SANITIZE=OFF
    echo "bootstrap: built; run the benchmarks as docs/PERFORMANCE.md says, e.g. KB_N=200 bench/add.sh"
    ;;
  *)
    echo "usage: bash scripts/bootstrap.sh demo|test|bench" >&2
    exit 2
    ;;
esac
