#!/bin/bash
# Build the ~1 GB English prose corpus (en_1g) from Debian 12 packages; run as root.
#   usage: benchmarks/corpora/make_en_1g.sh OUT_DIR     (~6 GB of packages, ~30-40 min on 2 cores)
# Installs the packages that make_en_1g.py reads (apt-get, --no-install-recommends), extracts the
# linux-source-6.1 tarball to OUT_DIR/linux-source-6.1 (its Documentation/ is one source) unless
# it is already there, then runs make_en_1g.py, which writes
#   OUT_DIR/en_1g/en_1g.jsonl  and  OUT_DIR/en_1g.sources.tsv
# Extra arguments after OUT_DIR go to make_en_1g.py (e.g. --max-bytes 2e8).
set -euo pipefail
OUT=$(realpath -m "${1:?usage: make_en_1g.sh OUT_DIR [make_en_1g.py options]}")
shift
HERE=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$OUT"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends linux-source-6.1 poppler-utils libsword-utils >/dev/null
apt-get install -y -qq --no-install-recommends \
  dict-gcide dict-foldoc dict-jargon dict-devil wordnet-base fortunes fortunes-min \
  fortunes-bofh-excuses fortune-anarchism fortunes-mario fortunes-debian-hints sword-text-web \
  sword-text-kjv sword-comm-mhcc sword-comm-scofield sword-comm-tdavid sword-dict-naves \
  sword-dict-strongs-greek sword-dict-strongs-hebrew python3.11-doc perl-doc perl-modules-5.36 \
  manpages manpages-dev debian-reference-en debian-policy developers-reference gnu-standards \
  debian-handbook installation-guide-amd64 debian-faq maint-guide harden-doc \
  debian-kernel-handbook debmake-doc doc-debian debian-history debian-edu-doc-en freedombox-doc-en \
  gimp-help-en libreoffice-help-en-us gnome-user-docs gnome-devel-docs mate-user-guide \
  gnucash-docs inkscape-tutorials kicad-doc-en linuxcnc-doc-en lilypond-doc-html \
  ada-reference-manual-2020 postgresql-doc-15 r-doc-html octave-doc git-doc gnuplot-doc \
  apache2-doc libboost1.81-doc derby-doc db5.3-doc qtbase5-doc-html cppreference-doc-en-html \
  fp-docs-3.2.2 golang-1.19-doc sqlite3-doc haproxy-doc bind9-doc postfix-doc exim4-doc-html \
  zsh-doc bash-doc vim-runtime maxima-doc gap-doc pari-doc cmake-doc clang-15-doc llvm-15-doc \
  guile-3.0-doc gettext-doc autoconf-doc automake coreutils grep sed tar findutils bison flex m4 \
  tcl8.6-doc tk8.6-doc swi-prolog-doc wireshark-doc groff ffmpeg-doc graphviz-doc mutt \
  sagemath-doc python-pandas-doc python-statsmodels-doc python-scipy-doc python-sklearn-doc \
  python-astropy-doc python-sympy-doc python-skimage-doc python-dask-doc twisted-doc \
  python-django-doc sphinx-doc python-biopython-doc python-sqlalchemy-doc python-celery-doc \
  python-xarray-doc python-scrapy-doc python-pygame-doc python-flask-doc python-mpmath-doc \
  python-setuptools-doc python-cryptography-doc python-werkzeug-doc racket-doc erlang-doc ghc-doc \
  rust-doc texlive-latex-extra-doc texlive-pstricks-doc texlive-publishers-doc \
  texlive-pictures-doc texlive-fonts-extra-doc texlive-latex-base-doc texlive-science-doc \
  texlive-latex-recommended-doc texlive-metapost-doc texlive-humanities-doc \
  texlive-fonts-recommended-doc texlive-lang-english texlive-bibtex-extra texlive-luatex \
  texlive-music texlive-games texlive-plain-generic texlive-formats-extra openjdk-17-doc \
  singular-doc petsc3.18-doc dpdk-doc scala-doc xorg-docs binutils-doc axiom-doc pacemaker-doc \
  texlive-lang-european texlive-lang-other texlive-lang-cjk texlive-lang-french \
  texlive-lang-german texlive-lang-cyrillic texlive-lang-arabic texlive-lang-greek \
  texlive-lang-italian texlive-lang-spanish texlive-lang-polish texlive-lang-czechslovak \
  texlive-lang-portuguese texlive-lang-japanese texlive-lang-chinese texlive-lang-korean >/dev/null
if [ ! -d "$OUT/linux-source-6.1/Documentation" ]; then
  tar -xJf /usr/src/linux-source-6.1.tar.xz -C "$OUT" linux-source-6.1/Documentation
fi
python3 "$HERE/make_en_1g.py" "$OUT" --linux-src "$OUT/linux-source-6.1" "$@"
tail -n 1 "$OUT/en_1g.sources.tsv"
