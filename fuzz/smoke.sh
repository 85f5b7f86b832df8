#!/usr/bin/env bash
# Smoke-fuzz every bolwerk fuzz target for a short while.
#
# Usage: fuzz/smoke.sh [TARGET...]        (default: every target in fuzz_targets/)
#   FUZZ_SECONDS  seconds per target (default 10)
#
# Builds with cargo-fuzz (installed on first use) on the stable toolchain:
# RUSTC_BOOTSTRAP=1 lets stable rustc accept the -Z flags cargo-fuzz passes,
# and the default AddressSanitizer build works with it. Build output goes to
# FUZZ_TARGET_DIR (default ~/.cache/bolwerk/fuzz-target), kept apart from the
# main build's, whose flags differ, and kept between runs.
# Each target runs on a throwaway copy of its checked-in corpus under
# fuzz/corpus-run/, topped up with real inputs that cannot be committed:
# ../shared/corpora/clamav/*.cvd for cvd_open and
# /usr/share/clamav-testfiles/*.exe (when installed) for pe_sections, and
# all of clamav-testfiles for the container readers (unpack_*), and
# signature-base's IOC files for ioc_line, and HTML pages from
# /usr/share/doc for html_normalise, and the Office documents with macros
# the tests use (crates/bolwerk/tests/data/vba) for vba_source, and the RAR
# archives of crates/bolwerk/tests/data/rar for unpack_rar, and (with qpdf)
# encrypted copies of clam.pdf for unpack_pdf, and libmspack's test
# cabinets (fetched by .ci/run) for unpack_cab, and (with makensis) an NSIS
# installer compressed with NSIS's bzip2 for unpack_installer.
# Exits non-zero if any target crashes (or hits a leak, OOM or timeout),
# naming the target and the artifact under fuzz/artifacts/<target>/.
set -euo pipefail

fuzz_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
shared_dir=${BOLWERK_SHARED:-$fuzz_dir/../../shared}
seconds=${FUZZ_SECONDS:-10}
export RUSTC_BOOTSTRAP=1
export CARGO_TARGET_DIR=${FUZZ_TARGET_DIR:-$HOME/.cache/bolwerk/fuzz-target}
cd "$fuzz_dir"

if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi

if [ "$#" -gt 0 ]; then
    targets=("$@")
else
    mapfile -t targets < <(cargo fuzz list)
fi

cargo fuzz build

run_dir=$fuzz_dir/corpus-run
rm -rf "$run_dir"
trap 'rm -rf "$run_dir"' EXIT

failed=()
for target in "${targets[@]}"; do
    corpus=$run_dir/$target
    mkdir -p "$corpus"
    if [ -d "corpus/$target" ]; then
        cp corpus/"$target"/* "$corpus"/
    fi
    case $target in
        cvd_open) cp "$shared_dir"/corpora/clamav/*.cvd "$corpus"/ 2>/dev/null || true ;;
        pe_sections) cp /usr/share/clamav-testfiles/*.exe "$corpus"/ 2>/dev/null || true ;;
        unpack_pdf)
            cp /usr/share/clamav-testfiles/* "$corpus"/ 2>/dev/null || true
            # Encrypted documents (RC4 and AES-256), where qpdf is installed.
            if command -v qpdf >/dev/null && [ -f "$corpus/clam.pdf" ]; then
                qpdf --allow-weak-crypto --encrypt "" owner 128 --use-aes=n -- "$corpus/clam.pdf" "$corpus/rc4.pdf" >/dev/null 2>&1 || true
                qpdf --encrypt "" owner 256 -- "$corpus/clam.pdf" "$corpus/aes256.pdf" >/dev/null 2>&1 || true
            fi ;;
        unpack_cab)
            cp /usr/share/clamav-testfiles/* "$corpus"/ 2>/dev/null || true
            # libmspack's test cabinets, where .ci/run fetched them.
            cp "${BOLWERK_MSPACK_CABS:-$HOME/.cache/bolwerk/data/libmspack-0.11alpha/test/test_files/cabd}"/*.cab "$corpus"/ 2>/dev/null || true ;;
        unpack_installer)
            cp /usr/share/clamav-testfiles/* "$corpus"/ 2>/dev/null || true
            # NSIS installers with its bzip2, where makensis is installed.
            if command -v makensis >/dev/null; then
                # shellcheck disable=SC2016 # $INSTDIR is NSIS's, not the shell's.
                printf 'SetCompressor /SOLID bzip2\nOutFile "%s"\nSection\nSetOutPath $INSTDIR\nFile "%s"\nSectionEnd\n' \
                    "$corpus/nsis-bzip2.exe" "$fuzz_dir/make_seeds.py" > "$run_dir/bzip2.nsi"
                makensis -V1 "$run_dir/bzip2.nsi" >/dev/null 2>&1 || true
            fi ;;
        unpack_rar)
            cp /usr/share/clamav-testfiles/* "$corpus"/ 2>/dev/null || true
            cp "$fuzz_dir"/../crates/bolwerk/tests/data/rar/*.rar "$corpus"/ ;;
        unpack_*) cp /usr/share/clamav-testfiles/* "$corpus"/ 2>/dev/null || true ;;
        html_normalise)
            mapfile -t pages < <(find /usr/share/doc -name '*.html' -size -64k 2>/dev/null || true)
            for f in "${pages[@]:0:20}"; do cp "$f" "$corpus/" 2>/dev/null || true; done ;;
        vba_source) cp "$fuzz_dir"/../crates/bolwerk/tests/data/vba/*.xls "$corpus"/ ;;
        ioc_line) cp "$shared_dir"/corpora/indicators/signature-base/iocs/*.txt "$corpus"/ 2>/dev/null || true ;;
    esac
    log=$run_dir/$target.log
    echo "== $target: ${seconds}s on $(find "$corpus" -type f | wc -l) seed inputs"
    if cargo fuzz run "$target" "$corpus" -- -max_total_time="$seconds" >"$log" 2>&1; then
        grep -E '^Done [0-9]+ runs' "$log" || tail -n 1 "$log"
    else
        artifact=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)
        echo "!! $target FAILED; artifact: ${artifact:-none written}"
        grep -E -m 5 "panicked at|ERROR: (AddressSanitizer|libFuzzer)|SUMMARY" "$log" || tail -n 20 "$log"
        mkdir -p "artifacts/$target" && cp "$log" "artifacts/$target/smoke.log"
        failed+=("$target")
    fi
done

if [ "${#failed[@]}" -gt 0 ]; then
    echo "fuzz smoke run failed: ${failed[*]} (logs in fuzz/artifacts/<target>/smoke.log)" >&2
    exit 1
fi
echo "fuzz smoke run passed: ${targets[*]} (${seconds}s each)"
