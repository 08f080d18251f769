"""The look shared by crossverify's HTML pages (`crossverify rosetta --format html`, `crossverify report`,
`crossverify questions --html`): one head with a viewport meta tag, one stylesheet, and the small
pieces of markup the pages have in common.

Made to read on a phone and on a laptop alike:
- the viewport meta tag makes a phone lay the page out at its own width (without it a phone lays it out
  980 px wide and shrinks it, to text a few pixels high);
- the text keeps a margin from the screen's edges and prose lines stop near 80 characters;
- a wide table (or a code block) scrolls sideways inside its own box, so the page itself never widens;
- a table column of code keeps a minimum width, so on a phone a code line wraps at its spaces in a
  readable column instead of one word per line.
"""
import html
import re

VIEWPORT = '<meta name="viewport" content="width=device-width, initial-scale=1">'

MONO = 'ui-monospace,SFMono-Regular,Menlo,Consolas,"DejaVu Sans Mono",monospace'

# one rule a line, so that a reader (and tests/test_html_pages.py) can find each
STYLESHEET = "\n".join([
    "*,*::before,*::after{box-sizing:border-box}",
    "html{-webkit-text-size-adjust:100%;text-size-adjust:100%}",
    "body{font-family:system-ui,-apple-system,\"Segoe UI\",Roboto,sans-serif;font-size:16px;line-height:1.5;"
    "color:#222;background:#fff;max-width:1400px;margin:0 auto;padding:0.75rem 1rem 3rem;overflow-wrap:break-word}",
    "@media (min-width:720px){body{padding:1.5rem 2.5rem 4rem}}",
    "h1{font-size:1.55rem;line-height:1.25;margin:0.4em 0 0.6em}",
    "h2{font-size:1.25rem;line-height:1.3;margin:1.8em 0 0.5em}",
    "h3{font-size:1.08rem;line-height:1.35;margin:1.5em 0 0.4em}",
    "@media (min-width:720px){h1{font-size:2rem}h2{font-size:1.45rem}h3{font-size:1.15rem}}",
    # about 80 characters a line: longer lines are hard to follow back to their start
    "p,ul,ol,figcaption{max-width:50rem}",
    "ul,ol{padding-left:1.5rem}",
    "li{margin:0.25em 0}",
    f"code,pre{{font-family:{MONO};font-size:0.88em}}",
    "code{background:#f3f3f3;border-radius:3px;padding:0 0.2em}",
    "h1 code,h2 code,h3 code{background:none;padding:0}",
    "pre{overflow-x:auto;background:#f6f6f6;border:1px solid #e2e2e2;padding:0.6em 0.8em;line-height:1.4}",
    "pre code{background:none;padding:0;font-size:1em}",
    # a wide table scrolls inside this box; the page keeps the screen's width
    ".scroll{overflow-x:auto;-webkit-overflow-scrolling:touch;max-width:100%;margin:0.75em 0 1.5em}",
    # a shadow at an edge where more of the table lies beyond it; white covers whichever edge is reached
    ".scroll{background:linear-gradient(to right,#fff 40%,rgba(255,255,255,0)) left/2.5rem 100% no-repeat local,"
    "linear-gradient(to left,#fff 40%,rgba(255,255,255,0)) right/2.5rem 100% no-repeat local,"
    "radial-gradient(farthest-side at 0 50%,rgba(0,0,0,0.22),rgba(0,0,0,0)) left/0.9rem 100% no-repeat scroll,"
    "radial-gradient(farthest-side at 100% 50%,rgba(0,0,0,0.22),rgba(0,0,0,0)) right/0.9rem 100% no-repeat scroll}",
    "table{border-collapse:collapse;font-size:0.9rem;line-height:1.4}",
    "th,td{border:1px solid #ccc;padding:0.3em 0.55em;text-align:left;vertical-align:top}",
    "th{background:#f0f0f0;white-space:nowrap}",
    f"td.num{{font-family:{MONO};font-size:0.95em;text-align:right;white-space:nowrap}}",
    "td.step{white-space:nowrap}",
    # short values (a verdict, a number, one row of a matrix) read best on one line
    ".nowrap,table.nowrap td{white-space:nowrap}",
    "tr.fails td{background:#fde2e2}",
    # a column of code: wide enough for a short line unbroken; longer lines wrap at their spaces
    "table.code{width:100%}",
    "table.code td.code{min-width:15rem}",
    # on a laptop an identifier longer than its column may break, so the table fits the screen; on a
    # narrower screen the table scrolls instead, every identifier whole
    "@media (min-width:1200px){table.code td.code code{overflow-wrap:anywhere}}",
    "img{max-width:100%;height:auto;border:1px solid #ddd}",
    "figure{margin:1em 0 2.5em}",
    "figcaption{color:#444}",
    ".fn{color:#6a6a6a;font-size:0.9em}",
    ".alt{color:#555}",
    ".ok{color:#1a7f37;font-weight:600}",
    ".bad{color:#c62828;font-weight:600}",
])


def head(title):
    """The page's first lines, up to and including <body>."""
    return ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">', VIEWPORT,
            f"<title>{html.escape(title)}</title>", f"<style>\n{STYLESHEET}\n</style></head><body>"]


def scrolling(table):
    """``table`` (HTML) inside a box that scrolls sideways when the table is wider than the screen."""
    return f'<div class="scroll">\n{table}\n</div>'


def code(text, cls=None):
    return (f'<code class="{cls}">' if cls else "<code>") + f"{html.escape(text)}</code>"


def inline(text):
    """Markdown backticks and bold in a sentence, as HTML."""
    parts = re.split(r"(`[^`]*`)", text)
    out = "".join(code(p[1:-1]) if p.startswith("`") and p.endswith("`") else html.escape(p) for p in parts)
    return re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", out)
