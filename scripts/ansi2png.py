#!/usr/bin/python3
"""ansi2png.py - render a terminal capture (`tmux capture-pane -e -p -N`) to PNG.

Usage:
  ansi2png.py IN.ansi OUT.png --cols 160 --rows 45 [--title TEXT]
              [--font-size 15] [--cursor X,Y]

The input is what tmux prints for a pane with -e: the text of each line with
SGR escape sequences (ESC [ ... m) wherever the attributes change; the state
carries over from one line to the next.  Everything else (other escape
sequences, control characters) is dropped.

Handled: the 16 colours, 256 colours and 24-bit colours for foreground and
background, default colours (39/49), bold, dim, italic, underline, reverse
video and their resets.  Character widths come from the C library's
wcwidth() in the C.UTF-8 locale, the same table tmux and ncurses use on this
machine, so double-width characters (Chinese, Japanese) take two cells and
the columns after them line up as they do in the terminal.

tmux does not print cells that were erased with a background colour (ncurses
clears the rest of a coloured bar with EL on a terminal with bce), so a line
whose first and last printed cells share a non-default background is taken
to be such a bar and its background runs on to the right edge.

Fonts: DejaVu Sans Mono (fonts-dejavu-core) for the grid; double-width
characters and those DejaVu has no glyph for come from WenQuanYi Micro Hei
(fonts-wqy-microhei) or Noto Sans CJK (fonts-noto-cjk), then Symbola
(fonts-symbola: symbols and monochrome emoji), the first that has the glyph.
Needs python3-pil (Debian's /usr/bin/python3).
"""

import argparse
import ctypes
import ctypes.util
import os
import re
import sys
import unicodedata

from PIL import Image, ImageDraw, ImageFont

# ------------------------------------------------------------------ colours

# Default foreground/background and the 16 ANSI colours of a dark terminal
# theme (0-7 normal, 8-15 bright).
DEFAULT_FG = (204, 204, 204)
DEFAULT_BG = (30, 30, 30)
ANSI16 = [
    (0, 0, 0), (205, 49, 49), (13, 188, 121), (229, 229, 16),
    (36, 114, 200), (188, 63, 188), (17, 168, 205), (229, 229, 229),
    (102, 102, 102), (241, 76, 76), (35, 209, 139), (245, 245, 67),
    (59, 142, 234), (214, 112, 214), (41, 184, 219), (255, 255, 255),
]


# The window around the terminal: title bar and its three buttons.
TITLE_BG = (50, 50, 52)
TITLE_FG = (190, 190, 190)
BUTTONS = [(255, 95, 86), (255, 189, 46), (39, 201, 63)]


def color256(n):
    if n < 16:
        return ANSI16[n]
    if n < 232:
        n -= 16
        steps = [0, 95, 135, 175, 215, 255]
        return (steps[n // 36], steps[(n // 6) % 6], steps[n % 6])
    v = 8 + (n - 232) * 10
    return (v, v, v)


# ------------------------------------------------------------------ widths

class Widths:
    """wcwidth() of the C library in C.UTF-8, with a Unicode-data fallback."""

    def __init__(self):
        self.libc = None
        self.cache = {}
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c"))
            libc.setlocale.restype = ctypes.c_char_p
            libc.setlocale.argtypes = [ctypes.c_int, ctypes.c_char_p]
            LC_CTYPE = 0  # glibc
            for loc in (b"C.UTF-8", b"C.utf8", b"en_US.UTF-8"):
                if libc.setlocale(LC_CTYPE, loc):
                    libc.wcwidth.argtypes = [ctypes.c_wchar]
                    libc.wcwidth.restype = ctypes.c_int
                    self.libc = libc
                    break
        except (OSError, AttributeError):
            self.libc = None

    def __call__(self, ch):
        w = self.cache.get(ch)
        if w is not None:
            return w
        w = -1
        if self.libc is not None:
            w = self.libc.wcwidth(ch)
        if w < 0:
            if unicodedata.combining(ch) or unicodedata.category(ch) in ("Mn", "Me", "Cf"):
                w = 0
            elif unicodedata.east_asian_width(ch) in ("W", "F"):
                w = 2
            else:
                w = 1
        self.cache[ch] = w
        return w


# ------------------------------------------------------------------ parsing

class Cell:
    __slots__ = ("ch", "fg", "bg", "bold", "dim", "italic", "under", "rev", "width")

    def __init__(self, ch=" ", st=None, width=1):
        self.ch = ch
        self.width = width
        if st is None:
            self.fg = self.bg = None
            self.bold = self.dim = self.italic = self.under = self.rev = False
        else:
            (self.fg, self.bg, self.bold, self.dim, self.italic, self.under,
             self.rev) = st.tuple()


class State:
    def __init__(self):
        self.reset()

    def reset(self):
        self.fg = self.bg = None          # None: the default colour
        self.bold = self.dim = self.italic = self.under = self.rev = False

    def tuple(self):
        return (self.fg, self.bg, self.bold, self.dim, self.italic, self.under, self.rev)

    def sgr(self, params):
        p = [int(x) if x.isdigit() else 0 for x in params.replace(":", ";").split(";")] \
            if params else [0]
        i = 0
        while i < len(p):
            n = p[i]
            if n == 0:
                self.reset()
            elif n == 1:
                self.bold = True
            elif n == 2:
                self.dim = True
            elif n == 3:
                self.italic = True
            elif n in (4, 21):
                self.under = True
            elif n == 7:
                self.rev = True
            elif n == 22:
                self.bold = self.dim = False
            elif n == 23:
                self.italic = False
            elif n == 24:
                self.under = False
            elif n == 27:
                self.rev = False
            elif 30 <= n <= 37:
                self.fg = ANSI16[n - 30]
            elif 90 <= n <= 97:
                self.fg = ANSI16[n - 90 + 8]
            elif 40 <= n <= 47:
                self.bg = ANSI16[n - 40]
            elif 100 <= n <= 107:
                self.bg = ANSI16[n - 100 + 8]
            elif n == 39:
                self.fg = None
            elif n == 49:
                self.bg = None
            elif n in (38, 48) and i + 1 < len(p):
                color = None
                if p[i + 1] == 5 and i + 2 < len(p):
                    color = color256(p[i + 2] & 255)
                    i += 2
                elif p[i + 1] == 2 and i + 4 < len(p):
                    color = tuple(x & 255 for x in p[i + 2:i + 5])
                    i += 4
                if color is not None:
                    if n == 38:
                        self.fg = color
                    else:
                        self.bg = color
            i += 1


ESC_RE = re.compile(r"\x1b(?:\[([0-9;:?]*)([@-~])|\][^\x07\x1b]*(?:\x07|\x1b\\)|[()][0-9A-Za-z]|.)")


def parse(text, cols, rows, widths):
    """The screen as rows x cols Cells (None marks the right half of a wide one)."""
    st = State()
    grid = [[Cell() for _ in range(cols)] for _ in range(rows)]
    for y, line in enumerate(text.split("\n")[:rows]):
        x = 0
        pos = 0
        while pos < len(line):
            c = line[pos]
            if c == "\x1b":
                m = ESC_RE.match(line, pos)
                if m is None:
                    pos += 1
                    continue
                if m.group(2) == "m":
                    st.sgr(m.group(1) or "")
                pos = m.end()
                continue
            pos += 1
            if ord(c) < 0x20 or ord(c) == 0x7f:
                continue
            w = widths(c)
            if w == 0:
                if x > 0:   # combining mark: attach to the previous character
                    prev = grid[y][x - 1] or (grid[y][x - 2] if x > 1 else None)
                    if prev is not None:
                        prev.ch += c
                continue
            if x + w > cols:
                break
            grid[y][x] = Cell(c, st, w)
            if w == 2:
                grid[y][x + 1] = None
            x += w
        # tmux does not print cells that were cleared with a background
        # colour (ncurses erases the rest of a bar with EL on a terminal
        # with bce), so a bar seems to stop after its text.  A line whose
        # first and last printed cells have the same non-default background
        # is such a bar (the title, the status line, the cursor row): the
        # cleared cells after it had that background too.
        first = grid[y][0]
        if 0 < x < cols and first is not None and st.bg is not None and \
                first.bg == st.bg and first.rev == st.rev:
            for fx in range(x, cols):
                grid[y][fx] = Cell(" ", st, 1)
    return grid


# ------------------------------------------------------------------ fonts

FONT_DIRS = ["/usr/share/fonts/truetype", "/usr/share/fonts/opentype", "/usr/share/fonts"]


def find_font(names):
    for d in FONT_DIRS:
        for root, _, files in os.walk(d):
            for n in names:
                if n in files:
                    return os.path.join(root, n)
    return None


class Fonts:
    def __init__(self, size):
        mono = find_font(["DejaVuSansMono.ttf"])
        mono_bold = find_font(["DejaVuSansMono-Bold.ttf"]) or mono
        mono_it = find_font(["DejaVuSansMono-Oblique.ttf"]) or mono
        if not mono:
            sys.exit("ansi2png: DejaVu Sans Mono not found (apt-get install fonts-dejavu-core)")
        self.regular = ImageFont.truetype(mono, size)
        self.bold = ImageFont.truetype(mono_bold, size)
        self.italic = ImageFont.truetype(mono_it, size)
        self.grid_fonts = (self.regular, self.bold, self.italic)
        # Fallbacks, in order: CJK, then symbols and emoji (monochrome).
        self.fallbacks = []
        cjk = find_font(["wqy-microhei.ttc", "NotoSansCJK-Regular.ttc", "wqy-zenhei.ttc",
                         "NotoSansMonoCJKsc-Regular.otf"])
        if cjk:
            # In wqy-microhei.ttc face 1 is the monospaced "Micro Hei Mono".
            for index in (1, 0):
                try:
                    self.fallbacks.append(ImageFont.truetype(cjk, size, index=index))
                    break
                except OSError:
                    continue
        symbols = find_font(["Symbola_hint.ttf", "Symbola.ttf"])
        if symbols:
            self.fallbacks.append(ImageFont.truetype(symbols, size))
        ascent, descent = self.regular.getmetrics()
        self.ascent = ascent
        self.cell_w = int(round(self.regular.getlength("M")))
        self.cell_h = ascent + descent
        self.notdef = {}
        self.chosen = {}

    def _has(self, font, ch):
        """Whether `font` has a glyph for `ch`: its bitmap differs from the one
        it draws for a private-use character (its .notdef box)."""
        nd = self.notdef.get(id(font))
        if nd is None:
            m = font.getmask("\ue000")
            nd = self.notdef[id(font)] = (m.size, bytes(m))
        m = font.getmask(ch)
        return (m.size, bytes(m)) != nd

    def pick(self, ch, cell):
        """The font for `ch` (bold/italic as the cell says)."""
        base = self.bold if cell.bold else self.italic if cell.italic else self.regular
        key = (ch, cell.width)
        font = self.chosen.get(key)
        if font is None:
            order = self.fallbacks + [self.regular] if cell.width == 2 else \
                [self.regular] + self.fallbacks
            font = next((f for f in order if self._has(f, ch)), self.regular)
            self.chosen[key] = font
        return base if font is self.regular else font


# ------------------------------------------------------------------ drawing

def blend(a, b, t):
    return tuple(int(round(x * (1 - t) + y * t)) for x, y in zip(a, b))


def render(grid, cols, rows, fonts, out, title=None, cursor=None):
    cw, ch = fonts.cell_w, fonts.cell_h
    pad = 10
    bar = 30 if title else 0
    width = cols * cw + 2 * pad
    height = rows * ch + 2 * pad + bar
    img = Image.new("RGB", (width, height), DEFAULT_BG)
    draw = ImageDraw.Draw(img)
    if title:
        draw.rectangle([0, 0, width, bar - 1], fill=TITLE_BG)
        draw.line([0, bar - 1, width, bar - 1], fill=(20, 20, 20))
        for i, col in enumerate(BUTTONS):
            cx = 18 + i * 20
            draw.ellipse([cx - 6, bar // 2 - 6, cx + 6, bar // 2 + 6], fill=col)
        tf = fonts.regular
        tw = tf.getlength(title)
        draw.text(((width - tw) / 2, (bar - ch) / 2 + 1), title, font=tf, fill=TITLE_FG)
    oy = pad + bar
    for y in range(rows):
        for x in range(cols):
            cell = grid[y][x]
            if cell is None:
                continue
            fg = cell.fg or DEFAULT_FG
            bg = cell.bg or DEFAULT_BG
            if cell.rev:
                fg, bg = bg, fg
            if cursor == (x, y):
                fg, bg = bg, fg
            if cell.dim:
                fg = blend(fg, bg, 0.45)
            px, py = pad + x * cw, oy + y * ch
            w = cw * cell.width
            if bg != DEFAULT_BG:
                draw.rectangle([px, py, px + w - 1, py + ch - 1], fill=bg)
            if cell.ch != " ":
                font = fonts.pick(cell.ch[0], cell)
                if font in fonts.grid_fonts:
                    draw.text((px, py), cell.ch, font=font, fill=fg)
                else:
                    # Centre a fallback glyph in its cells, on the same baseline.
                    gw = font.getlength(cell.ch)
                    gx = px + max(0, (w - gw) / 2)
                    fa, _ = font.getmetrics()
                    draw.text((gx, py + fonts.ascent - fa), cell.ch, font=font, fill=fg)
                    if cell.bold:   # no bold face: overstrike
                        draw.text((gx + 1, py + fonts.ascent - fa), cell.ch, font=font, fill=fg)
            if cell.under:
                uy = py + fonts.ascent + 2
                draw.line([px, uy, px + w - 1, uy], fill=fg)
    if QUANTIZE:
        img = quantize(img)
    img.save(out, optimize=True)


# Few colours on screen: a palette image is a third of the size and looks the
# same.  The palette is the image's own most useful colours plus the exact
# colours of the window decoration and the 16 ANSI ones, which small areas
# (the title bar's buttons) would otherwise lose to their neighbours.
QUANTIZE = True


def quantize(img):
    fixed = BUTTONS + [TITLE_BG, TITLE_FG, DEFAULT_FG, DEFAULT_BG] + ANSI16
    n = 256 - len(fixed)
    pal = img.quantize(colors=n, method=Image.Quantize.MEDIANCUT).getpalette()[:n * 3]
    pal += [0] * (n * 3 - len(pal))
    for c in fixed:
        pal.extend(c)
    ref = Image.new("P", (1, 1))
    ref.putpalette(pal)
    return img.quantize(palette=ref, dither=Image.Dither.NONE)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("input")
    ap.add_argument("output")
    ap.add_argument("--cols", type=int, default=160)
    ap.add_argument("--rows", type=int, default=45)
    ap.add_argument("--font-size", type=int, default=15)
    ap.add_argument("--title")
    ap.add_argument("--cursor", help="X,Y of a visible cursor (0-based)")
    a = ap.parse_args()
    with open(a.input, "rb") as f:
        text = f.read().decode("utf-8", "replace")
    cursor = tuple(int(v) for v in a.cursor.split(",")) if a.cursor else None
    grid = parse(text, a.cols, a.rows, Widths())
    render(grid, a.cols, a.rows, Fonts(a.font_size), a.output, a.title, cursor)


if __name__ == "__main__":
    main()
