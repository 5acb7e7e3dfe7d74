#!/bin/sh
# build.sh: build, install and test mod_fastcgi_handler; run the demo.
#
#   ./build.sh deps      install the build and test packages (Debian, root)
#   ./build.sh build     compile the module with apxs (-Wall -Wextra);
#                        FCGI_CFLAGS="..." adds compiler flags
#   ./build.sh install   build, then install it into httpd (apxs -i)
#   ./build.sh test [--asan]
#                        deps + build + perl Makefile.PL + make test; as
#                        root, the tests run as the unprivileged user
#                        $FCGI_TEST_USER (default fcgitest, created if need be);
#                        FCGI_TEST_FILES="t/x.t ..." runs only those files,
#                        APACHE_TEST_PORT=N moves the test server off 8529;
#                        --asan: the module built with ASan+UBSan, httpd run
#                        with their runtimes, any report from the module fails
#   ./build.sh demo      build and start a throwaway httpd on 127.0.0.1:8080
#                        with PHP-FPM serving a small sample site
#   ./build.sh fuzz [S]  build the libFuzzer harnesses in fuzz/ (ASan+UBSan)
#                        and run each for S seconds (default 15)
#   ./build.sh valgrind  the suite with httpd in one process under valgrind
#                        (bench/valgrind-suite); fails on a memcheck error
#                        from the module
#   ./build.sh bench [ARGS]  install nginx, libfcgi-dev and wrk (as root)
#                        and run bench/run ARGS (side by side with
#                        mod_proxy_fcgi and nginx; --quick for a minute)
#
# APXS (default: apxs on PATH, else /usr/bin/apxs) picks the httpd to build for.
set -eu

top=$(cd "$(dirname "$0")" && pwd)
cd "$top"

APXS=${APXS:-$(command -v apxs || echo /usr/bin/apxs)}
MODULE=modules/.libs/mod_fastcgi_handler.so
SOURCES="modules/mod_fastcgi_handler.c $(ls modules/fcgi_*.c | tr '\n' ' ')"
DEB_PACKAGES="apache2 apache2-dev libapache2-mod-perl2 php-fpm libwww-perl nghttp2-client make gcc iproute2"

say() { printf '%s\n' "$*" >&2; }

deps() {
    if [ "$(id -u)" != 0 ]; then
        say "build.sh deps: not root; assuming these are installed: $DEB_PACKAGES"
        return 0
    fi
    missing=""
    for p in $DEB_PACKAGES; do
        dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
    done
    [ -z "$missing" ] && return 0
    say "build.sh deps: installing$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $missing >/dev/null
}

build() {
    # apxs drives libtool; one .so from all sources, warnings on.
    # FCGI_SANITIZE=1 builds with AddressSanitizer and UBSan; FCGI_CFLAGS
    # adds compiler flags (-DFCGI_PORTABLE, say).
    sanitize=""
    for flag in ${FCGI_CFLAGS:-}; do
        sanitize="$sanitize -Wc,$flag"
    done
    if [ -n "${FCGI_SANITIZE:-}" ]; then
        sanitize="-Wc,-fsanitize=address,undefined -Wc,-fno-omit-frame-pointer
                  -Wl,-fsanitize=address,undefined"
        rm -rf modules/.libs
    fi
    # shellcheck disable=SC2086
    (cd modules && "$APXS" -Wc,-Wall -Wc,-Wextra $sanitize -c -o mod_fastcgi_handler.la \
        $(echo $SOURCES | sed 's|modules/||g')) >modules/build.log 2>&1 || {
        cat modules/build.log >&2; say "build.sh build: compiling failed"; exit 1; }
    if grep -E 'warning:|error:' modules/build.log >&2; then
        say "build.sh build: the module must compile without warnings"; exit 1
    fi
    say "build.sh build: $MODULE"
}

install_module() {
    build
    (cd modules && "$APXS" -i -n fastcgi_handler mod_fastcgi_handler.la)
    say "build.sh install: now add to httpd's configuration:"
    say "  LoadModule fastcgi_handler_module $("$APXS" -q LIBEXECDIR)/mod_fastcgi_handler.so"
}

# The parsers that read untrusted bytes, each with the sources it needs.
FUZZ_HARNESSES="records:fcgi_proto.c headers:fcgi_headers.c addr:fcgi_addr.c params:fcgi_proto.c"

fuzz() {
    seconds=${1:-15}
    if [ "$(id -u)" = 0 ]; then
        for p in clang libclang-rt-14-dev apache2-dev; do
            dpkg -s "$p" >/dev/null 2>&1 || { apt-get update -qq &&
                DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
                    --no-install-recommends clang libclang-rt-14-dev apache2-dev >/dev/null; break; }
        done
    fi
    mkdir -p fuzz/build
    cflags="-g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
            -DLINUX -D_REENTRANT -D_GNU_SOURCE -Imodules
            -I$("$APXS" -q INCLUDEDIR) $(apr-1-config --includes)"
    failed=""
    for h in $FUZZ_HARNESSES; do
        name=${h%%:*} src=${h#*:}
        # shellcheck disable=SC2086
        clang $cflags "fuzz/fuzz_$name.c" "modules/$src" $(apr-1-config --link-ld) \
            -o "fuzz/build/fuzz_$name" || { say "build.sh fuzz: building $name failed"; exit 1; }
        # New inputs go to build/; the committed seeds are only read.
        mkdir -p "fuzz/build/corpus-$name"
        say "build.sh fuzz: $name for ${seconds}s"
        if ! "fuzz/build/fuzz_$name" -max_total_time="$seconds" -print_final_stats=1 \
                -artifact_prefix="fuzz/build/crash-$name-" \
                "fuzz/build/corpus-$name" "fuzz/corpus/$name" >"fuzz/build/$name.log" 2>&1; then
            tail -40 "fuzz/build/$name.log" >&2
            failed="$failed $name"
        fi
        grep -E '^stat::number_of_executed_units|^Done' "fuzz/build/$name.log" >&2 || true
    done
    if [ -n "$failed" ]; then
        say "build.sh fuzz: FAILED:$failed (inputs in fuzz/build/crash-*)"
        exit 1
    fi
    say "build.sh fuzz: no findings"
}

valgrind_suite() {
    if [ "$(id -u)" = 0 ]; then
        DEB_PACKAGES="$DEB_PACKAGES valgrind"
        deps
    fi
    exec "$top/bench/valgrind-suite" "$@"
}

bench() {
    if [ "$(id -u)" = 0 ]; then
        DEB_PACKAGES="$DEB_PACKAGES nginx libfcgi-dev wrk curl"
        deps
    fi
    build
    exec "$top/bench/run" "$@"
}

run_tests() {
    if [ "${1:-}" = "--asan" ]; then
        FCGI_SANITIZE=1
        export FCGI_SANITIZE
    fi
    deps
    build
    if [ "$(id -u)" = 0 ]; then
        # Apache::Test refuses to run as root: run a copy of the tree as a
        # plain user (a copy, because the checkout may sit where that user
        # cannot go, such as /root).
        user=${FCGI_TEST_USER:-fcgitest}
        id "$user" >/dev/null 2>&1 || useradd --system --create-home --shell /bin/sh "$user"
        copy=$(mktemp -d /tmp/fastcgi-handler-test.XXXXXX)
        tar -C "$top" --exclude=.git -cf - . | tar -C "$copy" -xf -
        chown -R "$user" "$copy"
        chmod 755 "$copy"
        say "build.sh test: running the suite as $user in $copy"
        exec runuser -u "$user" -- sh -c "cd '$copy' && FCGI_SANITIZE='${FCGI_SANITIZE:-}' FCGI_CFLAGS='${FCGI_CFLAGS:-}' ./build.sh test-as-user"
    fi
    test_as_user
}

# With FCGI_SANITIZE, httpd runs with the sanitizer runtimes preloaded
# (httpd itself is not instrumented; the module is) and reports go to
# t/logs/sanitizer/.  Leak checking is off: httpd frees by pool, at exit.
sanitizer_httpd() {
    wrapper=$(pwd)/t/sanitizer-httpd
    httpd="$("$APXS" -q SBINDIR)/$("$APXS" -q TARGET)"
    mkdir -p t/logs/sanitizer
    {
        echo '#!/bin/sh'
        echo "LD_PRELOAD='$(gcc -print-file-name=libasan.so) $(gcc -print-file-name=libubsan.so)'"
        echo "ASAN_OPTIONS='detect_leaks=0:log_path=$(pwd)/t/logs/sanitizer/asan'"
        echo "UBSAN_OPTIONS='print_stacktrace=1:log_path=$(pwd)/t/logs/sanitizer/ubsan'"
        echo 'export LD_PRELOAD ASAN_OPTIONS UBSAN_OPTIONS'
        echo "exec '$httpd' \"\$@\""
    } >"$wrapper"
    chmod +x "$wrapper"
    echo "$wrapper"
}

# Any sanitizer report that involves the module fails the run.
sanitizer_verdict() {
    reports=$(ls t/logs/sanitizer/ 2>/dev/null | wc -l)
    ours=$(grep -l -E 'mod_fastcgi_handler|fcgi_[a-z_]+\.c' t/logs/sanitizer/* 2>/dev/null || true)
    if [ -n "$ours" ]; then
        for f in $ours; do cat "$f" >&2; done
        say "build.sh test --asan: sanitizer reports from the module: $ours"
        exit 1
    fi
    say "build.sh test --asan: no sanitizer report from the module ($reports report files in all)"
}

test_as_user() {
    if [ -n "${FCGI_SANITIZE:-}" ]; then
        perl Makefile.PL -apxs "$APXS" -httpd "$(sanitizer_httpd)" >/dev/null
    else
        perl Makefile.PL -apxs "$APXS" >/dev/null
    fi
    log=t/logs/make-test.out
    mkdir -p t/logs
    status=0
    # FCGI_TEST_FILES="t/a.t t/b.t" runs only those files.
    # Verbose, so that a failed run (in CI, say) shows which assertion.
    make test TEST_VERBOSE=1 ${FCGI_TEST_FILES:+TEST_FILES="$FCGI_TEST_FILES"} 2>&1 \
        | tee "$log" || status=$?
    # Apache::Test can give up (a port in use, a server that died) without
    # failing make; only a summary that says so counts as a pass.
    if [ "$status" != 0 ] || ! grep -q '^All tests successful' "$log"; then
        say "build.sh test: FAILED (see $log and t/logs/error_log in $(pwd))"
        exit 1
    fi
    if [ -n "${FCGI_SANITIZE:-}" ]; then
        sanitizer_verdict
    fi
}

case "${1:-}" in
    deps) deps ;;
    build) build ;;
    install) install_module ;;
    test) shift; run_tests "$@" ;;
    test-as-user) build && test_as_user ;;
    demo) build && exec "$top/demo/run" ;;
    fuzz) shift; fuzz "$@" ;;
    bench) shift; bench "$@" ;;
    valgrind) shift; valgrind_suite "$@" ;;
    *) sed -n "2,26p" "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
