#!/usr/bin/env python3
"""Build a ~1 GB corpus of English prose from files of installed Debian 12 packages.

Usage:
    python3 benchmarks/corpora/make_en_1g.py OUT_DIR [--max-bytes 1e9] [--linux-src DIR]
    (normally through make_en_1g.sh, which apt-installs the packages listed there first)

Writes:
    OUT_DIR/en_1g/en_1g.jsonl    one JSON object per document: {"text": ..., "path": ...}
    OUT_DIR/en_1g.sources.tsv    per source: family, package, documents and text bytes kept,
                                 documents dropped (not English, duplicate, near-empty)

Sources, in this order (the output is cut at --max-bytes of UTF-8 document text, so the
better prose comes first): dictd dictionaries (GCIDE, FOLDOC, Jargon, Devil's Dictionary),
WordNet glosses, fortune files, SWORD Bible texts (WEB, KJV), commentaries and dictionaries
(exported with mod2imp), Debian manuals, end-user application manuals (GIMP, LibreOffice,
GNOME, MATE, GnuCash, KiCad, LinuxCNC, Inkscape tutorials, LilyPond), language and tool
manuals (Ada RM, Python, Perl, PostgreSQL, R, Octave, Git, Rust books, Erlang, Racket, GHC,
SQLite, Vim, CMake, LLVM, GNU info manuals, Boost, Derby, Berkeley DB, Qt, cppreference, Free
Pascal ...), Sphinx docs of scientific/Python software (Django, SciPy stack, Sage, PETSc ...),
Singular and Axiom books, Linux kernel Documentation/, man pages, the PDF manuals of TeX Live
packages (text via poppler's pdftotext), and last API reference pages (Rust std, OpenJDK 17
javadoc, Scala, GHC libraries). The package list is in make_en_1g.sh.

Processing: HTML is reduced to its main content and tag-stripped, and short lines already
seen in 20 files of the same package (navigation, headers) are dropped; Sphinx pages are read
from their _sources/*.txt when that has prose (autodoc stubs: from the HTML; notebooks:
markdown cells only); info files lose their node headers and tag tables; roff man pages and
POD lose their markup. In HTML/XML/PDF text, paragraphs that are mostly not words (code,
tables, indexes, tables of contents) are dropped. Every text is cut at
paragraph boundaries into documents of at most 64 KiB; a document is kept only if it is
English (English vs. other-language function words, mostly ASCII letters), has at least
MIN_WORDS words, and its text was not seen before (BLAKE2 hash). Files are read in sorted
order, so the output is deterministic for a given set of installed package versions.

Python >= 3.11 standard library only; external programs: dpkg, mod2imp (libsword-utils),
pdftotext (poppler-utils). Streams: memory stays small (one file, the hash set, per-package
line counts).
"""
import argparse
import gzip
import hashlib
import html
import json
import os
import re
import subprocess
import sys
import tempfile
import time

MAX_DOC_BYTES = 64 * 1024
MIN_WORDS = 20

# ----------------------------------------------------------------------------- reading


def decode(b):
    """bytes -> str: UTF-8, else Windows-1252 (old Latin-1 docs); drop NULs/controls."""
    try:
        s = b.decode('utf-8')
    except UnicodeDecodeError:
        s = b.decode('cp1252', errors='replace')
    s = s.replace('\r\n', '\n').replace('\r', '\n')
    return CTRL.sub('', s)


CTRL = re.compile(r'[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]')


def read_bytes(path):
    with open(path, 'rb') as f:
        b = f.read()
    if path.endswith('.gz'):
        b = gzip.decompress(b)
    return b


def read_text(path):
    return decode(read_bytes(path))


def dpkg_files(pkg):
    """Regular files shipped by a Debian package, sorted; [] if it is not installed."""
    r = subprocess.run(['dpkg', '-L', pkg], capture_output=True, text=True)
    if r.returncode != 0:
        print(f'  ! {pkg} not installed, skipped', file=sys.stderr, flush=True)
        return []
    out = set()
    for p in r.stdout.splitlines():
        if p.startswith('/') and os.path.isfile(p) and not os.path.islink(p):
            out.add(p)
    return sorted(out)


# ----------------------------------------------------------------------------- cleaning

BLANKS = re.compile(r'\n[ \t]*\n(?:[ \t]*\n)+')
SPACES = re.compile(r'[ \t\u00a0]+')
PARA_SPLIT = re.compile(r'\n[ \t]*\n')


def tidy(s):
    """Strip trailing blanks, collapse runs of blank lines."""
    s = '\n'.join(line.rstrip() for line in s.split('\n'))
    return BLANKS.sub('\n\n', s).strip()


H_DROP = re.compile(r'<(script|style|head|header|nav|noscript|svg|math)\b.*?</\1\s*>|<!--.*?-->', re.DOTALL | re.IGNORECASE)
H_HEADERLINK = re.compile(r'<a [^>]*class="headerlink"[^>]*>.*?</a>', re.DOTALL | re.IGNORECASE)
H_BLOCK = re.compile(r'<(?:/?(?:p|div|pre|h[1-6]|table|section|article|blockquote|ul|ol|dl|dt|dd|tr|hr|figure)|br)\b[^>]*>', re.IGNORECASE)
H_LI = re.compile(r'<(?:li|td|th)\b[^>]*>', re.IGNORECASE)
H_TAG = re.compile(r'<[^>]*>')
# main-content markers of common generators (Sphinx, javadoc, texinfo, mdBook, rustdoc ...)
H_START = [re.compile(p, re.IGNORECASE) for p in (
    r'<main\b', r'role="main"', r'itemprop="articleBody"', r'<div class="body"',
    r'<div id="content"', r'<div class="content"', r'<body\b')]
H_END = re.compile(r'</main>|<footer\b|<div class="(?:sphinxsidebar|footer|related|navfooter|navfooter)"'
                   r'|<div id="(?:footer|sidebar)"', re.IGNORECASE)


def strip_html(s):
    for pat in H_START:
        m = pat.search(s)
        if m:
            s = s[s.find('>', m.start()) + 1:]     # drop the opening tag itself
            break
    m = H_END.search(s)
    if m:
        s = s[:m.start()]
    s = H_DROP.sub(' ', s)
    s = H_HEADERLINK.sub('', s)
    s = H_BLOCK.sub('\n\n', s)
    s = H_LI.sub('\n', s)
    s = html.unescape(H_TAG.sub('', s))
    s = SPACES.sub(' ', s)
    return tidy(s)


XML_DROP = re.compile(r'<(info|credit|license|revhistory|bookinfo|articleinfo|indexterm|title-abbrev)\b.*?</\1\s*>|<!--.*?-->|<\?.*?\?>|<!DOCTYPE[^>]*>', re.DOTALL | re.IGNORECASE)
XML_BLOCK = re.compile(r'</?(?:p|para|title|section|sect\d|page|item|listitem|td|row|screen|programlisting|note|tip|caution|warning|steps|terms|tree|formalpara|simpara|term|refsect\d|example|table|list|code)\b[^>]*>', re.IGNORECASE)
XML_ENT = re.compile(r'&[A-Za-z][\w.-]*;')


def strip_xml(s):
    """DocBook / Mallard / LibreOffice .xhp: drop metadata, keep element text."""
    s = XML_DROP.sub(' ', s)
    s = XML_BLOCK.sub('\n\n', s)
    s = html.unescape(H_TAG.sub('', s))
    s = XML_ENT.sub('', s)          # unresolved DocBook entities
    s = SPACES.sub(' ', s)
    return tidy(s)


INFO_NODE = re.compile(r'^\x1f?\s*File: [^\n]*?Node: [^\n]*$', re.MULTILINE)


def strip_info(s):
    """Info file: drop node header lines, the tag table and indirect tables, menu stars."""
    s = re.sub(r'\x1f\nTag Table:.*', '', s, flags=re.DOTALL)
    s = re.sub(r'\x1f\nIndirect:.*?\x1f', '\x1f', s, flags=re.DOTALL)
    s = re.sub(r'\x1f\nEnd Tag Table.*', '', s, flags=re.DOTALL)
    s = s.replace('\x1f', '')
    s = INFO_NODE.sub('', s)
    return tidy(s)


ROFF_ESC = re.compile(r'\\f(?:\[[^\]]*\]|\(..|.)|\\s[-+]?\d+|\\[*(]\(?..|\\\[[^\]]*\]|\\[&|^%:c!]|\\\*.')
ROFF_TEXT_MACROS = {'B', 'I', 'BR', 'IR', 'RB', 'RI', 'BI', 'IB', 'SM', 'SB', 'Nm', 'Nd', 'Ar', 'Fl',
                    'Em', 'Sy', 'Pa', 'Dq', 'Qq', 'Sq', 'Ql', 'Li', 'Cm', 'Ic', 'Va', 'Fn', 'Xr', 'Ev'}
ROFF_BREAK_MACROS = {'PP', 'P', 'LP', 'sp', 'br', 'TP', 'IP', 'HP', 'Pp', 'Bl', 'El', 'It', 'RS', 'RE'}


def strip_roff(s):
    """man(7)/mdoc(7) source -> plain text: keep section titles and text lines."""
    out = []
    for line in s.split('\n'):
        if line.startswith(('.\\"', "'\\\"", '\\"', '.\\}')):
            continue
        if line[:1] in ('.', "'"):
            m = re.match(r"[.']\s*(\S+)\s*(.*)", line)
            if not m:
                continue
            macro, rest = m.group(1), m.group(2)
            if macro in ('SH', 'SS', 'Sh', 'Ss'):
                out += ['', rest.replace('"', ''), '']
            elif macro in ROFF_BREAK_MACROS:
                out.append('')
                if macro == 'IP' and rest:
                    out.append(rest.split('"')[1] if rest.startswith('"') else rest.split()[0])
            elif macro in ROFF_TEXT_MACROS:
                out.append(rest.replace('"', ''))
            continue
        out.append(line)
    t = ROFF_ESC.sub('', '\n'.join(out))
    t = t.replace('\\-', '-').replace('\\e', '\\').replace('\\ ', ' ').replace('\\(em', '--')
    return tidy(t)


POD_CODE = re.compile(r'[BCIFSXZL]<<+\s(.*?)\s>>+|[BCIFSXZL]<([^<>]*)>', re.DOTALL)
POD_ESC = {'lt': '<', 'gt': '>', 'verbar': '|', 'sol': '/'}


def pod_text(s, embedded=False):
    """POD -> text. embedded: only the POD blocks of a Perl module (=xxx ... =cut)."""
    out, in_pod = [], not embedded
    for line in s.split('\n'):
        if line.startswith('='):
            cmd, _, rest = line[1:].partition(' ')
            if cmd == 'cut':
                in_pod = False
            else:
                in_pod = True
                if cmd.startswith('head') or cmd == 'item':
                    out += ['', rest.strip(), '']
            continue
        if in_pod:
            out.append(line)
    t = '\n'.join(out)
    t = re.sub(r'E<(\w+)>', lambda m: POD_ESC.get(m.group(1), ''), t)
    for _ in range(3):  # nested codes
        t = POD_CODE.sub(lambda m: m.group(1) if m.group(1) is not None else m.group(2), t)
    return tidy(t)


SVG_TEXT = re.compile(r'<(flowPara|text)\b[^>]*>(.*?)</\1>', re.DOTALL)


def svg_text(s):
    """Text of an SVG drawing (Inkscape tutorials): its <text> and <flowPara> elements."""
    paras = (' '.join(html.unescape(H_TAG.sub('', m.group(2))).split()) for m in SVG_TEXT.finditer(s))
    return '\n\n'.join(p for p in paras if p)


def notebook_text(s):
    """Jupyter notebook JSON -> its markdown cells."""
    try:
        nb = json.loads(s)
    except ValueError:
        return ''
    cells = nb.get('cells', []) if isinstance(nb, dict) else []
    parts = []
    for c in cells:
        if isinstance(c, dict) and c.get('cell_type') == 'markdown':
            src = c.get('source', '')
            parts.append(''.join(src) if isinstance(src, list) else str(src))
    return tidy('\n\n'.join(parts))


def pdf_text(path):
    tmp = None
    if path.endswith('.gz'):          # pdftotext needs a seekable, uncompressed file
        fd, tmp = tempfile.mkstemp(suffix='.pdf')
        with os.fdopen(fd, 'wb') as f:
            f.write(read_bytes(path))
    try:
        r = subprocess.run(['pdftotext', '-q', '-enc', 'UTF-8', '-nopgbrk', tmp or path, '-'],
                           capture_output=True, timeout=300)
        return tidy(decode(r.stdout))
    except subprocess.TimeoutExpired:
        return ''
    finally:
        if tmp:
            os.unlink(tmp)


# ----------------------------------------------------------------------------- filters

WORD = re.compile(r'[^\W\d_]+')
EN_WORDS = frozenset(['the', 'of', 'and', 'to', 'that', 'for', 'it', 'as', 'with', 'be', 'not', 'this', 'are', 'by', 'or', 'from', 'an', 'which', 'can', 'you', 'if', 'at', 'have', 'but', 'all', 'we', 'they', 'has', 'its', 'their', 'there', 'these', 'when', 'more', 'other', 'only', 'may', 'must', 'should', 'would', 'than', 'then', 'into', 'been', 'were', 'what', 'how', 'each', 'such', 'about', 'your', 'our', 'any', 'some', 'no', "can't", "don't", 'does', 'do', 'is'])
# function words of other languages written in Latin script (none is an English word)
FOREIGN_WORDS = frozenset(['der', 'das', 'und', 'ist', 'nicht', 'mit', 'von', 'zu', 'ein', 'eine', 'auf', 'für', 'sich', 'dem', 'wird', 'werden', 'oder', 'auch', 'bei', 'nach', 'wenn', 'kann', 'sind', 'eines', 'einer', 'le', 'la', 'les', 'et', 'est', 'une', 'du', 'pour', 'dans', 'que', 'qui', 'pas', 'sur', 'avec', 'aux', 'cette', 'sont', 'être', 'el', 'los', 'las', 'y', 'es', 'del', 'por', 'con', 'para', 'una', 'se', 'como', 'más', 'il', 'di', 'che', 'è', 'per', 'della', 'sono', 'gli', 'questo', 'het', 'een', 'van', 'niet', 'zijn', 'voor', 'wordt', 'ook', 'och', 'att', 'som', 'är', 'det', 'för', 'inte', 'på', 'av', 'jest', 'nie', 'się', 'oraz', 'também', 'não', 'uma', 'os', 'das', 'ao', 'na', 'em'])


def is_english(text):
    words = WORD.findall(text)
    if len(words) < MIN_WORDS:
        return False
    n = len(words)
    en = fo = nonascii = 0
    for w in words:
        lw = w.lower()
        if lw in EN_WORDS:
            en += 1
        elif lw in FOREIGN_WORDS:
            fo += 1
        if not w.isascii():
            nonascii += 1
    return en >= 0.08 * n and fo <= 0.25 * en and nonascii <= 0.25 * n


def prose_paragraphs(text):
    """Drop paragraphs that are mostly not words: code, tables, indexes, dot-leader TOCs."""
    keep = []
    for para in PARA_SPLIT.split(text):
        p = para.strip()
        if not p:
            continue
        if '. . . .' in p or '....' in p and p.count('.') > len(p) / 8:
            continue
        nonspace = len(p) - p.count(' ') - p.count('\n')
        letters = sum(len(w) for w in WORD.findall(p))
        if nonspace == 0 or letters < 0.62 * nonspace:
            continue
        keep.append(para)
    return '\n\n'.join(keep)


def chunks(text, limit=MAX_DOC_BYTES):
    """Pack paragraphs into pieces of at most `limit` UTF-8 bytes (lines, then characters,
    for a paragraph that is too long by itself)."""
    if len(text) * 4 <= limit or len(text.encode('utf-8')) <= limit:
        yield text
        return
    cur, n = [], 0
    for para in PARA_SPLIT.split(text):
        b = len(para.encode('utf-8'))
        if b > limit:
            pieces, sep = para.split('\n'), '\n'
            if max(len(x.encode('utf-8')) for x in pieces) > limit:
                pieces = [para[i:i + limit // 4] for i in range(0, len(para), limit // 4)]
                sep = ''
            sub, sn = [], 0
            for x in pieces:
                xb = len(x.encode('utf-8'))
                if sn + xb > limit and sub:
                    if cur:
                        yield '\n\n'.join(cur)
                        cur, n = [], 0
                    yield sep.join(sub)
                    sub, sn = [], 0
                sub.append(x)
                sn += xb + len(sep)
            para, b = sep.join(sub), sn
        if n + b > limit and cur:
            yield '\n\n'.join(cur)
            cur, n = [], 0
        cur.append(para)
        n += b + 2
    if cur:
        yield '\n\n'.join(cur)


# ----------------------------------------------------------------------------- writer

class Full(Exception):
    pass


class Writer:
    def __init__(self, out_dir, max_bytes):
        os.makedirs(os.path.join(out_dir, 'en_1g'), exist_ok=True)
        self.path = os.path.join(out_dir, 'en_1g', 'en_1g.jsonl')
        self.tsv = os.path.join(out_dir, 'en_1g.sources.tsv')
        self.f = open(self.path + '.part', 'w', encoding='utf-8')
        self.max_bytes = max_bytes
        self.seen = set()
        self.stats = {}       # source -> [family, package, docs, bytes, non_en, dup, short]
        self.nbytes = self.ndocs = 0
        self.t0 = time.time()

    def add(self, text, path, source, family, package):
        st = self.stats.setdefault(source, [family, package, 0, 0, 0, 0, 0])
        chunk_list = list(chunks(text))
        for i, c in enumerate(chunk_list):
            c = c.strip()
            if len(c) < 100 or len(WORD.findall(c[:2000])) < MIN_WORDS and len(c) < 2000:
                st[6] += 1
                continue
            if not is_english(c):
                st[4] += 1
                continue
            b = c.encode('utf-8')
            h = hashlib.blake2b(b, digest_size=16).digest()
            if h in self.seen:
                st[5] += 1
                continue
            self.seen.add(h)
            p = f'{path}#{i}' if len(chunk_list) > 1 else path
            self.f.write(json.dumps({'text': c, 'path': p}, ensure_ascii=False) + '\n')
            st[2] += 1
            st[3] += len(b)
            self.ndocs += 1
            self.nbytes += len(b)
            if self.nbytes >= self.max_bytes:
                raise Full()

    def progress(self, source):
        st = self.stats.get(source)
        if st:
            print(f'{time.time() - self.t0:7.0f}s {self.nbytes / 1e6:9.1f} MB  {source}: '
                  f'{st[2]} docs {st[3] / 1e6:.1f} MB (dropped: {st[4]} non-English, '
                  f'{st[5]} duplicate, {st[6]} short)', flush=True)

    def close(self):
        self.f.close()
        os.replace(self.path + '.part', self.path)
        with open(self.tsv, 'w', encoding='utf-8') as f:
            f.write('source\tfamily\tpackage\tdocs\ttext_bytes\tdropped_non_english\tdropped_duplicate\tdropped_short\n')
            f.writelines('\t'.join([src] + [str(x) for x in st]) + '\n' for src, st in self.stats.items())
            f.write(f'TOTAL\t\t\t{self.ndocs}\t{self.nbytes}\t{sum(s[4] for s in self.stats.values())}\t'
                    f'{sum(s[5] for s in self.stats.values())}\t{sum(s[6] for s in self.stats.values())}\n')
        print(f'en_1g: {self.ndocs} docs, {self.nbytes} text bytes, {time.time() - self.t0:.0f}s -> {self.path}',
              flush=True)


# ----------------------------------------------------------------------------- sources

def src_dictd(name):
    p = f'/usr/share/dictd/{name}.dict.dz'
    if os.path.exists(p):
        yield p, decode(gzip.decompress(read_bytes(p)))


def src_wordnet():
    """WordNet 3.0 synsets as 'lemma, lemma: gloss' lines, 200 synsets per document."""
    for pos in ('noun', 'verb', 'adj', 'adv'):
        p = f'/usr/share/wordnet/data.{pos}'
        if not os.path.exists(p):
            continue
        lines = []
        with open(p, encoding='utf-8', errors='replace') as f:
            for line in f:
                if line.startswith('  ') or '|' not in line:
                    continue    # license header
                head, gloss = line.split('|', 1)
                fields = head.split()
                n = int(fields[3], 16)
                lemmas = [fields[4 + 2 * k].replace('_', ' ') for k in range(n)]
                lines.append(', '.join(lemmas) + ': ' + gloss.strip())
        for i in range(0, len(lines), 200):
            yield f'{p}#{i // 200}', '\n'.join(lines[i:i + 200])


def src_fortunes(pkg):
    for p in dpkg_files(pkg):
        if '/fortunes/' in p and not p.endswith(('.dat', '.u8')) and '/off/' not in p:
            yield p, read_text(p).replace('\n%\n', '\n\n')


SWORD_TAG = re.compile(r'<[^>]+>')
SWORD_PARA = re.compile(r'<div[^>]*type="x-p"[^>]*/>')
SPACE_PUNCT = re.compile(r' ([,.;:!?)])')


def src_sword(module, overlapping=False):
    """Export a SWORD module with mod2imp ('$$$key' + body per entry), strip OSIS/ThML/GBF
    markup, drop repeated bodies (linked verses). overlapping: MHCC's export repeats ~50 KB
    windows per entry, so keep distinct inner paragraphs (x-p markers) instead."""
    proc = subprocess.Popen(['mod2imp', module], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    seen, out, key, body = set(), [], None, []

    def clean(t):
        return SPACE_PUNCT.sub(r'\1', ' '.join(html.unescape(SWORD_TAG.sub(' ', t)).split()))

    def flush():
        if key is None:
            return
        raw = ''.join(body)
        pieces = SWORD_PARA.split(raw)[1:-1] if overlapping else [raw]
        for piece in pieces:
            t = clean(piece)
            if len(t) < (40 if overlapping else 2):
                continue
            h = hashlib.blake2b(t.encode('utf-8'), digest_size=16).digest()
            if h not in seen:
                seen.add(h)
                out.append(t if overlapping else f'{key}\n{t}')

    for raw_line in proc.stdout:
        line = raw_line.decode('utf-8', 'replace')
        if line.startswith('$$$'):
            flush()
            key, body = line[3:].strip(), []
        else:
            body.append(line)
    flush()
    proc.wait()
    if out:
        yield f'sword:{module}', '\n\n'.join(out)


# --- documentation trees -----------------------------------------------------------------

LANG_CODES = ['af', 'am', 'ar', 'ast', 'be', 'bg', 'bn', 'bs', 'ca', 'cs', 'cy', 'da', 'de', 'el', 'eo', 'es', 'et', 'eu', 'fa', 'fi', 'fr', 'ga', 'gl', 'gu', 'he', 'hi', 'hr', 'hu', 'hy', 'id', 'is', 'it', 'ja', 'ka', 'kk', 'km', 'kn', 'ko', 'ku', 'lt', 'lv', 'mk', 'ml', 'mr', 'ms', 'my', 'nb', 'ne', 'nl', 'nn', 'no', 'oc', 'pa', 'pl', 'ps', 'pt', 'pt_BR', 'pt-BR', 'pt_br', 'pt-br', 'ro', 'ru', 'si', 'sk', 'sl', 'sq', 'sr', 'sv', 'ta', 'te', 'th', 'tr', 'uk', 'ur', 'uz', 'vi', 'zh', 'zh_CN', 'zh-CN', 'zh_cn', 'zh-cn', 'zh_TW', 'zh-TW', 'zh_tw', 'zh-tw', 'zh_HK', 'ca@valencia', 'sr@latin', 'en_GB', 'en-GB']
_LANG_ALT = '|'.join(re.escape(c) for c in sorted(LANG_CODES, key=len, reverse=True))
NON_EN_PATH = re.compile(r'/(?:%s)(?:/|$)|\.(?:%s)\.(?:html?|pdf|txt|xml|page|xhp)(?:\.gz)?$|'
                         r'/man/(?!man)[^/]+/man' % (_LANG_ALT, _LANG_ALT))
SKIP_NAMES = re.compile(r'(?:^|/)(?:changelog|copyright|NEWS|ChangeLog|HISTORY|CHANGES|THANKS|AUTHORS|'
                        r'LICEN[CS]E|COPYING|genindex|py-modindex|search\.html|searchindex|objects\.inv)[^/]*$'
                        r'|/(?:_static|_images|_downloads|_modules|static|images|js|css|fonts|genindex)/', re.IGNORECASE)

KIND_EXT = [
    ('html', re.compile(r'\.(?:html?|xhtml)(?:\.gz)?$', re.IGNORECASE)),
    ('text', re.compile(r'\.(?:txt|rst|md|markdown|text|asciidoc|adoc|help)(?:\.gz)?$|/README(?:\.\w+)?(?:\.gz)?$', re.IGNORECASE)),
    ('info', re.compile(r'/info/[^/]+\.info(?:-\d+)?(?:\.gz)?$')),
    ('man', re.compile(r'/man/man[^/]+/[^/]+\.\d\w*(?:\.gz)?$')),
    ('xml', re.compile(r'\.(?:page|docbook|xhp)(?:\.gz)?$|/help/C/.+\.xml$', re.IGNORECASE)),
    ('pod', re.compile(r'\.pod$')),
    ('pm', re.compile(r'\.pm$')),
    ('pdf', re.compile(r'\.pdf(?:\.gz)?$', re.IGNORECASE)),
    ('svg', re.compile(r'\.svg$')),
]


def kind_of(path):
    for kind, pat in KIND_EXT:
        if pat.search(path):
            return kind
    return None


def convert(kind, path):
    """Return (text, noisy) for a file of the given kind."""
    if kind == 'pdf':
        return pdf_text(path), True
    s = read_text(path)
    if kind == 'html':
        return strip_html(s), True
    if kind == 'xml':
        return strip_xml(s), True
    if kind == 'svg':
        return svg_text(s), False
    if kind == 'info':
        return strip_info(s), False
    if kind == 'man':
        return ('' if s.startswith('.so ') else strip_roff(s)), False
    if kind == 'pod':
        return pod_text(s), False
    if kind == 'pm':
        return pod_text(s, embedded=True), False
    if path.endswith(('.ipynb.txt', '.ipynb')):
        return notebook_text(s), False
    return tidy(s), False


class Boilerplate:
    """Drops short lines (navigation bars, headers, footers) already seen in `limit` earlier
    files of the same package."""

    def __init__(self, limit=20):
        self.count, self.limit = {}, limit

    def __call__(self, text):
        out, this_file = [], set()
        for line in text.split('\n'):
            s = line.strip()
            if s and len(s) < 100:
                h = hash(s)
                if self.count.get(h, 0) >= self.limit:
                    continue
                if h not in this_file:
                    this_file.add(h)
                    self.count[h] = self.count.get(h, 0) + 1
            out.append(line)
        return tidy('\n'.join(out))


RST_MARKUP = re.compile(r'^\s*(?:\.\.|:\w[^:]*:)', re.MULTILINE)


def sphinx_skips(files):
    """Sphinx trees: a page is read from its _sources/ text when that has real prose, else
    (autodoc stubs) from its HTML. Returns the set of files to skip."""
    skip = set()
    for p in files:
        if '/_sources/' not in p:
            continue
        root, rel = p.split('/_sources/', 1)
        stem = re.sub(r'(?:\.(?:rst|md|ipynb|rest|markdown))?(?:\.txt)?$', '', rel)
        try:
            src = read_text(p)
        except OSError:
            continue
        body = '\n'.join(line for line in src.split('\n') if not RST_MARKUP.match(line))
        if len(WORD.findall(body)) >= 150 or p.endswith('.ipynb.txt'):
            skip.add(f'{root}/{stem}.html')
        else:
            skip.add(p)
    return skip


def src_docs(pkgs, kinds=('html', 'text', 'info', 'man', 'xml'), include=None, exclude=None,
             roots=None, english_path=True):
    """Documentation files of packages. Sphinx trees that ship _sources/ are read from
    there (their HTML is skipped). include/exclude: regexes on the path; roots: list of
    path prefixes to keep."""
    inc = re.compile(include) if include else None
    exc = re.compile(exclude) if exclude else None
    for pkg in pkgs.split():
        boiler = Boilerplate()
        files = dpkg_files(pkg)
        if roots:
            files = [p for p in files if p.startswith(tuple(roots))]
        skip = sphinx_skips(files)
        for p in files:
            if p in skip:
                continue
            kind = 'text' if '/_sources/' in p else kind_of(p)
            if kind not in kinds and not ('/_sources/' in p and 'html' in kinds):
                continue
            if (english_path and NON_EN_PATH.search(p)) or ('/_sources/' not in p and SKIP_NAMES.search(p)):
                continue
            if (inc and not inc.search(p)) or (exc and exc.search(p)):
                continue
            try:
                text, noisy = convert(kind, p)
            except (OSError, EOFError, ValueError, gzip.BadGzipFile) as e:
                print(f'  ! {p}: {e}', file=sys.stderr)
                continue
            if noisy:
                text = prose_paragraphs(boiler(text) if kind != 'pdf' else text)
            if text:
                yield p, text


def src_tree(root, exts):
    """Files under a directory (the extracted Linux source's Documentation/)."""
    if not os.path.isdir(root):
        return
    for dirpath, dirs, files in os.walk(root):
        dirs.sort()
        for fn in sorted(files):
            p = os.path.join(dirpath, fn)
            if fn.endswith(exts) and os.path.isfile(p) and not os.path.islink(p):
                yield p, tidy(read_text(p))


TEXLIVE_DOC = ('texlive-latex-base-doc texlive-latex-recommended-doc texlive-latex-extra-doc '
               'texlive-pictures-doc texlive-science-doc texlive-humanities-doc texlive-publishers-doc '
               'texlive-pstricks-doc texlive-metapost-doc texlive-fonts-recommended-doc texlive-fonts-extra-doc '
               'texlive-lang-english texlive-bibtex-extra texlive-luatex texlive-music texlive-games '
               'texlive-plain-generic texlive-formats-extra texlive-lang-european texlive-lang-other texlive-lang-cjk '
               'texlive-lang-french texlive-lang-german texlive-lang-cyrillic texlive-lang-arabic texlive-lang-greek '
               'texlive-lang-italian texlive-lang-spanish texlive-lang-polish texlive-lang-czechslovak '
               'texlive-lang-portuguese texlive-lang-japanese texlive-lang-chinese texlive-lang-korean')


def sources(linux_src):
    """(source label, family, packages, iterator factory), best prose first."""
    S = []

    def add(label, family, pkg, fn):
        S.append((label, family, pkg, fn))

    F_REF, F_BIB, F_FUN = 'reference works', 'Bible texts and commentaries', 'fortunes'
    F_DEB, F_APP, F_LANG = 'Debian manuals', 'application manuals', 'programming/tool manuals'
    F_SCI, F_KERN, F_MAN, F_TEX = 'scientific software docs', 'Linux kernel docs', 'man/info pages', 'TeX Live manuals (PDF)'
    for name, pkg in [('gcide', 'dict-gcide'), ('foldoc', 'dict-foldoc'), ('jargon', 'dict-jargon'), ('devil', 'dict-devil')]:
        add(f'{pkg} (dictd)', F_REF, pkg, lambda n=name: src_dictd(n))
    add('wordnet-base glosses', F_REF, 'wordnet-base', src_wordnet)
    for pkg in ['fortunes-min', 'fortunes', 'fortunes-bofh-excuses', 'fortune-anarchism', 'fortunes-mario', 'fortunes-debian-hints']:
        add(f'{pkg}', F_FUN, pkg, lambda p=pkg: src_fortunes(p))
    for module, pkg, overlapping in [('engWEB2015eb', 'sword-text-web', False), ('engKJV2006eb', 'sword-text-kjv', False),
                                     ('MHCC', 'sword-comm-mhcc', True), ('TDavid', 'sword-comm-tdavid', False),
                                     ('Scofield', 'sword-comm-scofield', False), ('Nave', 'sword-dict-naves', False),
                                     ('StrongsGreek', 'sword-dict-strongs-greek', False),
                                     ('StrongsHebrew', 'sword-dict-strongs-hebrew', False)]:
        add(f'{pkg} (mod2imp {module})', F_BIB, pkg, lambda m=module, o=overlapping: src_sword(m, o))

    def docs(pkgs, family, label=None, **kw):
        add(label or pkgs, family, pkgs, lambda: src_docs(pkgs, **kw))

    # Debian's own manuals
    docs('debian-reference-en', F_DEB, kinds=('html',), include=r'\.en\.html$')
    docs('debian-policy developers-reference gnu-standards', F_DEB, kinds=('text',))
    docs('debian-handbook', F_DEB, kinds=('html',), include=r'/html/en-US/')
    docs('installation-guide-amd64', F_DEB, kinds=('html',), include=r'/installation-guide-amd64/en/')
    docs('debian-edu-doc-en', F_DEB, kinds=('html',), include=r'bookworm-manual\.html$')
    docs('freedombox-doc-en', F_DEB, kinds=('html',), include=r'/manual/en/')
    for pkg in ['debian-faq', 'maint-guide', 'harden-doc', 'debian-kernel-handbook', 'debmake-doc', 'doc-debian', 'debian-history']:
        docs(pkg, F_DEB, kinds=('html', 'text'), exclude=r'\.(?!en\.)[a-z][a-z](?:[-_][A-Za-z][A-Za-z])?\.(?:html|txt)')
    # end-user application manuals
    docs('gimp-help-en', F_APP, kinds=('html',), include=r'/help/en/')
    docs('libreoffice-help-en-us', F_APP, kinds=('html',), include=r'/help/en-US/')
    docs('gnome-user-docs gnome-devel-docs', F_APP, kinds=('xml',), include=r'/help/C/')
    docs('mate-user-guide', F_APP, kinds=('xml',), include=r'/help/C/')
    docs('gnucash-docs', F_APP, kinds=('html',), include=r'/gnucash-(?:guide|help)-en/')
    docs('kicad-doc-en', F_APP, kinds=('html',), include=r'/help/en/')
    docs('linuxcnc-doc-en', F_APP, kinds=('pdf',))
    docs('inkscape-tutorials', F_APP, kinds=('svg',), include=r'/tutorials/[^./]+\.svg$')
    docs('lilypond-doc-html', F_APP, kinds=('html',), include=r'/Documentation/[^/]+/[^./]+\.html$')
    # programming languages and tools
    docs('ada-reference-manual-2020', F_LANG, kinds=('html',), include=r'/aarm2020\.html/')
    docs('python3.11-doc', F_LANG, kinds=('text',), include=r'/_sources/')
    docs('perl-doc', F_LANG, kinds=('pod',))
    docs('perl-modules-5.36', F_LANG, kinds=('pm', 'pod'))
    docs('postgresql-doc-15', F_LANG, kinds=('html',))
    docs('r-doc-html', F_LANG, kinds=('html',))
    docs('octave-doc', F_LANG, kinds=('html',))
    docs('git-doc', F_LANG, kinds=('text',), exclude=r'/RelNotes/')
    docs('gnuplot-doc', F_LANG, kinds=('html',))
    docs('apache2-doc', F_LANG, kinds=('html',), include=r'\.html\.en$|/[^./]+\.html$')
    docs('rust-doc', F_LANG, kinds=('html',), include=r'/(?:book|reference|rust-by-example|nomicon|rustc|cargo|'
         r'edition-guide|embedded-book|unstable-book|rustdoc|style-guide|error_codes)/', exclude=r'/print\.html$')
    docs('erlang-doc', F_LANG, kinds=('html',))
    docs('racket-doc', F_LANG, kinds=('html',))
    docs('ghc-doc', F_LANG, kinds=('html', 'text'), include=r'/users_guide/|/haddock/|/libraries/(?:base|ghc-prim|containers|bytestring|text)-')
    docs('golang-1.19-doc', F_LANG, kinds=('html', 'text'))
    docs('sqlite3-doc', F_LANG, kinds=('html',))
    docs('haproxy-doc bind9-doc postfix-doc exim4-doc-html zsh-doc bash-doc mutt', F_LANG,
         kinds=('html', 'text'), exclude=r'/examples/')
    docs('vim-runtime', F_LANG, kinds=('text',), include=r'/vim\d+/doc/[^/]+\.txt$')
    docs('cmake-doc', F_LANG, kinds=('text', 'html'))
    docs('clang-15-doc llvm-15-doc', F_LANG, kinds=('text', 'html'))
    docs('guile-3.0-doc gettext-doc autoconf-doc automake coreutils grep sed tar findutils bison flex m4 groff binutils-doc', F_LANG,
         label='GNU info manuals (guile, gettext, autoconf, automake, coreutils, grep, sed, tar, findutils, bison, flex, m4, groff, binutils)',
         kinds=('info',))
    docs('tcl8.6-doc tk8.6-doc', F_LANG, kinds=('html',))
    docs('swi-prolog-doc wireshark-doc ffmpeg-doc graphviz-doc', F_LANG, kinds=('html', 'text'))
    docs('libboost1.81-doc', F_LANG, kinds=('html',))
    docs('derby-doc db5.3-doc', F_LANG, kinds=('html',))
    docs('qtbase5-doc-html', F_LANG, kinds=('html',))
    docs('cppreference-doc-en-html', F_LANG, kinds=('html',))
    docs('fp-docs-3.2.2', F_LANG, kinds=('html',))
    docs('xorg-docs', F_LANG, kinds=('html',))
    docs('pacemaker-doc', F_LANG, kinds=('html',), include=r'/singlehtml/')
    docs('dpdk-doc', F_LANG, kinds=('html', 'text'), include=r'/dpdk/guides/')
    # Sphinx-built docs of scientific / Python software (from _sources/ where shipped)
    for pkg in ['sphinx-doc', 'python-django-doc', 'python-sqlalchemy-doc', 'python-celery-doc', 'python-scrapy-doc', 'python-pygame-doc', 'python-flask-doc', 'python-werkzeug-doc', 'python-setuptools-doc', 'python-cryptography-doc', 'twisted-doc', 'python-biopython-doc', 'python-scipy-doc', 'python-pandas-doc', 'python-statsmodels-doc', 'python-sklearn-doc', 'python-astropy-doc', 'python-sympy-doc', 'python-skimage-doc', 'python-dask-doc', 'python-xarray-doc', 'python-mpmath-doc', 'sagemath-doc']:
        docs(pkg, F_SCI, kinds=('html', 'text'))
    docs('maxima-doc', F_SCI, kinds=('html',))
    docs('gap-doc', F_SCI, kinds=('html',), exclude=r'_mj\.html$')
    docs('pari-doc', F_SCI, kinds=('pdf',))
    docs('singular-doc', F_SCI, kinds=('html',), exclude=r'/search/')
    docs('petsc3.18-doc', F_SCI, kinds=('html', 'text'))
    docs('axiom-doc', F_SCI, kinds=('pdf', 'text'), include=r'/bookvol(?:[0-4]|bib)\.pdf\.gz$|/spadhelp/')
    # kernel docs and man pages
    add('linux-source-6.1 Documentation/*.rst,*.txt', F_KERN, 'linux-source-6.1',
        lambda: src_tree(os.path.join(linux_src, 'Documentation'), ('.rst', '.txt')))
    docs('manpages manpages-dev', F_MAN, label='manpages manpages-dev (roff stripped)', kinds=('man',))
    # TeX Live package documentation (PDF + READMEs)
    for pkg in TEXLIVE_DOC.split():
        docs(pkg, F_TEX, kinds=('pdf', 'text'), include=r'/doc/', exclude=r'\.(?:tex|sty|dtx|ins|bib)$')
    # API reference (most boilerplate-prone, so last)
    F_API = 'API reference docs'
    docs('rust-doc', F_API, label='rust-doc (std/core/alloc API)', kinds=('html',),
         include=r'/html/(?:std|core|alloc|proc_macro|test)/', exclude=r'/src/|/all\.html$|/implementors/')
    docs('openjdk-17-doc', F_API, kinds=('html',), include=r'/api/',
         exclude=r'/class-use/|/index-files/|-tree\.html$|/allclasses|/allpackages|/overview-|/serialized-form|/deprecated-list|/help-doc|/constant-values')
    docs('scala-doc', F_API, kinds=('html',))
    docs('ghc-doc', F_API, label='ghc-doc (library API)', kinds=('html',),
         include=r'/libraries/(?!(?:base|ghc-prim|containers|bytestring|text)-|ghc-9)[^/]+/[^/]+\.html$',
         exclude=r'/src/|/doc-index')
    return S


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('out_dir')
    ap.add_argument('--max-bytes', type=float, default=1e9, help='stop at this many bytes of document text')
    ap.add_argument('--linux-src', default=None,
                    help='extracted linux-source-6.1 tree (default: OUT_DIR/linux-source-6.1)')
    ap.add_argument('--only', default=None, help='regex: run only sources whose label matches (testing)')
    a = ap.parse_args()
    linux_src = a.linux_src or os.path.join(a.out_dir, 'linux-source-6.1')
    w = Writer(a.out_dir, int(a.max_bytes))
    only = re.compile(a.only) if a.only else None
    try:
        for label, family, pkg, fn in sources(linux_src):
            if only and not only.search(label):
                continue
            for path, text in fn():
                w.add(text, path, label, family, pkg)
            w.progress(label)
    except Full:
        print(f'reached --max-bytes ({a.max_bytes:.3g}) in {label}', flush=True)
    w.close()


if __name__ == '__main__':
    main()
