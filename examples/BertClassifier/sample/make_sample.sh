#!/usr/bin/env bash
# Makes the shipped sample (reviews_train.tsv, reviews_test.tsv: 400 training and 200 test reviews, a seeded choice)
# from R's modeldata package, with the example's own reader of R's lazy-load database. Needs no R: the Debian package's
# files are unpacked into a temporary folder.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$work" && apt-get download r-cran-modeldata >/dev/null && dpkg-deb -x r-cran-modeldata_*.deb unpacked)
dotnet run --project "$here/.." -c Release -- "$work/unpacked/usr/lib/R/site-library/modeldata/data" --write-sample "$here"
