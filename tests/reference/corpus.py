"""The strings the tokenizer fixture is made of.

Every list here is deterministic: hand-written cases, strings drawn with fixed seeds, and real
text read from files that ship with the pinned Python (the standard library's docstrings and
source) and with the pinned transformers wheel (its METADATA, i.e. its README). Regenerating
with another Python version may pick different stdlib sentences; the fixture records the
Python version that made it.
"""

from __future__ import annotations

import ast
import random
import re
import sysconfig
from importlib import metadata
from pathlib import Path

STDLIB = Path(sysconfig.get_paths()["stdlib"])

# Modules whose docstrings give English prose and whose source gives Python code lines.
PROSE_MODULES = [
    "textwrap.py", "json/__init__.py", "json/decoder.py", "collections/__init__.py", "argparse.py",
    "subprocess.py", "logging/__init__.py", "unittest/case.py", "http/client.py", "csv.py",
    "difflib.py", "shutil.py", "pathlib.py", "functools.py", "inspect.py", "fractions.py",
    "heapq.py", "bisect.py", "string.py", "random.py", "statistics.py", "calendar.py",
    "zipfile.py", "tarfile.py", "threading.py", "typing.py", "dataclasses.py", "enum.py",
    "pydoc.py", "pickle.py", "copy.py", "pprint.py", "tempfile.py", "glob.py", "fnmatch.py",
    "urllib/parse.py", "base64.py", "secrets.py", "uuid.py", "gettext.py", "locale.py",
    "codecs.py", "email/message.py", "smtplib.py", "ftplib.py", "imaplib.py", "sched.py",
    "queue.py", "weakref.py", "abc.py", "contextlib.py", "getopt.py", "optparse.py", "cmd.py",
    "shlex.py", "timeit.py", "trace.py", "traceback.py", "warnings.py", "zipimport.py",
    "_pydecimal.py", "ipaddress.py", "mailbox.py", "configparser.py", "selectors.py",
]

CODE_MODULES = [
    "textwrap.py", "json/encoder.py", "heapq.py", "bisect.py", "fractions.py", "statistics.py",
    "difflib.py", "string.py", "colorsys.py", "calendar.py", "base64.py", "ipaddress.py",
    "dataclasses.py", "functools.py", "_pydecimal.py", "html/parser.py", "csv.py", "shlex.py",
]


def _read(rel: str) -> str:
    return (STDLIB / rel).read_text(encoding="utf-8")


def _docstrings(rel: str) -> list[str]:
    tree = ast.parse(_read(rel))
    out = []
    for node in [tree, *ast.walk(tree)]:
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            doc = ast.get_docstring(node, clean=True)
            if doc:
                out.append(doc)
    # ast.walk visits the module again; keep first occurrences only
    seen, uniq = set(), []
    for d in out:
        if d not in seen:
            seen.add(d)
            uniq.append(d)
    return uniq


_SENT_SPLIT = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'(])")


def prose_cases(rng: random.Random) -> list[tuple[str, str]]:
    sentences, paragraphs = [], []
    for rel in PROSE_MODULES:
        for doc in _docstrings(rel):
            for para in re.split(r"\n\s*\n", doc):
                flat = " ".join(para.split())
                if ">>>" in para or not flat:
                    continue
                if 200 <= len(para) <= 600 and "\n" in para:
                    paragraphs.append(para)
                for s in _SENT_SPLIT.split(flat):
                    if 25 <= len(s) <= 260 and re.search(r"[a-z]{3}", s):
                        sentences.append(s)
    sentences = sorted(set(sentences))
    paragraphs = sorted(set(paragraphs))
    cases = [("prose", s) for s in rng.sample(sentences, 330)]
    # multi-line paragraphs keep their newlines and indentation
    cases += [("prose_paragraph", p) for p in rng.sample(paragraphs, 30)]
    # a few raw (uncleaned) docstrings with their original indentation
    raw = []
    for rel in ["textwrap.py", "heapq.py", "bisect.py", "shlex.py"]:
        tree = ast.parse(_read(rel))
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                doc = ast.get_docstring(node, clean=False)
                if doc and 60 <= len(doc) <= 500:
                    raw.append(doc)
    cases += [("prose_raw_docstring", d) for d in rng.sample(sorted(set(raw)), 12)]
    return cases


def readme_cases(rng: random.Random) -> list[tuple[str, str]]:
    """Lines of the transformers README (the wheel's METADATA): markdown, links, many scripts."""
    try:
        text = metadata.distribution("transformers").read_text("METADATA") or ""
    except Exception:  # pragma: no cover
        return []
    body = text.split("\n\n", 1)[1] if "\n\n" in text else text
    lines = [l for l in body.splitlines() if 8 <= len(l.strip()) <= 300]
    uniq = sorted(set(lines))
    non_ascii = [l for l in uniq if any(ord(c) > 127 for c in l)]
    ascii_ = [l for l in uniq if all(ord(c) <= 127 for c in l)]
    return [("readme", l) for l in non_ascii] + [("readme", l) for l in rng.sample(ascii_, 40)]


def code_cases(rng: random.Random) -> list[tuple[str, str]]:
    lines, chunks = [], []
    for rel in CODE_MODULES:
        src = _read(rel).splitlines()
        for i, l in enumerate(src):
            if l.strip() and len(l) <= 160:
                lines.append(l)
        for start in range(0, max(0, len(src) - 8), 37):
            chunk = "\n".join(src[start:start + 8])
            if chunk.strip() and len(chunk) < 500:
                chunks.append(chunk)
    lines = sorted(set(lines))
    cases = [("code_python_line", l) for l in rng.sample(lines, 170)]
    cases += [("code_python_block", c) for c in rng.sample(sorted(set(chunks)), 30)]
    cases += [("code_snippet", s) for s in CODE_SNIPPETS]
    return cases


CODE_SNIPPETS = [
    "function add(a, b) {\n  return a + b;\n}",
    "const xs = [1, 2, 3].map((x) => x * 2);",
    "export default async function handler(req, res) {\n\tres.status(200).json({ ok: true });\n}",
    "let s = `template ${name} literal`;",
    "if (a === b && c !== d || !e) { console.log(\"eq\"); }",
    "document.querySelector('#app').innerHTML = '<p class=\"x\">hi</p>';",
    "import { useState } from 'react';\nconst [count, setCount] = useState(0);",
    "fn main() {\n    println!(\"Hello, world!\");\n}",
    "impl<T: Clone + Send + 'static> Foo<T> for Bar<'a, T> where T: Debug {}",
    "let v: Vec<u8> = (0..=255u8).collect::<Vec<_>>();",
    "match x {\n    Some(ref y) if *y > 0 => y + 1,\n    _ => 0,\n}",
    "#[derive(Debug, Clone, PartialEq)]\npub struct Point { pub x: f32, pub y: f32 }",
    "unsafe { std::ptr::copy_nonoverlapping(src.as_ptr(), dst.as_mut_ptr(), n) }",
    "let r#type = &mut self.buf[..len];",
    "#include <stdio.h>\n\nint main(int argc, char **argv) {\n    printf(\"%d\\n\", argc);\n    return 0;\n}",
    "for (size_t i = 0; i < n; ++i) { sum += a[i] * b[i]; }",
    "#define MAX(a, b) ((a) > (b) ? (a) : (b))",
    "typedef struct { uint16_t d; uint8_t qs[16]; } block_q4_0;",
    "static inline float fp16_to_fp32(uint16_t h) { /* TODO */ return 0.0f; }",
    "std::vector<std::string> v{\"a\", \"b\"}; auto it = v.begin();",
    "template <typename T>\nT max(T a, T b) { return a < b ? b : a; }",
    "package main\n\nimport \"fmt\"\n\nfunc main() {\n\tfmt.Println(\"hi\")\n}",
    "SELECT id, name FROM users WHERE age >= 18 AND name LIKE '%son' ORDER BY id DESC LIMIT 10;",
    "<!DOCTYPE html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\"></head>\n</html>",
    "body { margin: 0; padding: 0 1rem; font-family: -apple-system, sans-serif; }",
    "#!/usr/bin/env bash\nset -euo pipefail\nfor f in *.txt; do echo \"$f\"; done",
    "ls -la | grep '^d' | awk '{print $9}' > dirs.txt 2>&1",
    "{\"name\": \"lmfast\", \"version\": \"0.1.0\", \"deps\": [], \"ok\": true, \"n\": null}",
    "[package]\nname = \"lmfast\"\nedition = \"2021\"\n\n[dependencies]\nserde = { version = \"1\", features = [\"derive\"] }",
    "key: value\nlist:\n  - one\n  - two\nnested:\n    a: 1",
    "public static void main(String[] args) { System.out.println(\"Hello\"); }",
    "def f(*args, **kwargs) -> dict[str, int]:\n    return {k: len(v) for k, v in kwargs.items()}",
    "lambda x: x**2 if x % 2 == 0 else -x",
    "print(f\"{value!r:>10} {pi:.3f} {{literal}}\")",
    "@dataclass(frozen=True)\nclass Config:\n    n_layers: int = 30\n    d_model: int = 576",
    "x = np.zeros((2, 512), dtype=np.float32)\ny = x @ x.T",
    "    \tmixed_indent = True\n\t    other = False",
    "\\begin{equation} E = mc^2 \\end{equation}",
    "-- Haskell\nmain :: IO ()\nmain = putStrLn \"hello\" >> return ()",
    "(defun square (x) (* x x))",
    "diff --git a/src/lib.rs b/src/lib.rs\n@@ -1,3 +1,4 @@\n-old line\n+new line",
    "https://example.com/path/to/page?query=1&other=two#section",
    "user.name+tag@example.co.uk",
    "C:\\Users\\Admin\\Documents\\file.txt",
    "regex = r\"^(?P<name>[A-Za-z_]\\w*)\\s*=\\s*(?P<val>.+)$\"",
]


def number_cases(rng: random.Random) -> list[tuple[str, str]]:
    fixed = [
        "0", "7", "42", "-1", "+5", "100", "1000", "1,000", "1,000,000", "1 000 000", "1.000.000,50",
        "3.14159", "2.718281828459045", "-0.001", ".5", "5.", "1e10", "6.022e23", "1.6E-19",
        "0x1F", "0xDEADBEEF", "0b1011", "0o755", "1_000_000", "123456789012345678901234567890",
        "99999999999999999999999999999999999999999999999999", "00000000", "007",
        "2024-01-05", "2024-12-31T23:59:59Z", "12/25/2023", "25.12.2023", "1999-2001",
        "10:30", "10:30:45.123", "3:00 PM", "+1 (555) 123-4567", "555-0199", "+44 20 7946 0958",
        "+33 1 23 45 67 89", "$1,234.56", "€9,99", "£100", "¥5000", "50%", "99.9%", "-40°C", "98.6°F",
        "v1.2.3", "3.11.7", "192.168.0.1", "::1", "2001:db8::ff00:42:8329", "1/2", "3/4", "½", "¾",
        "x²", "10³", "H₂O", "Ⅻ", "XIV", "٠١٢٣٤٥٦٧٨٩", "۱۲۳", "１２３４５", "一二三", "१२३", "๑๒๓",
        "1st 2nd 3rd 4th", "a1b2c3", "abc123def", "ID: A-1234-B", "ISBN 978-3-16-148410-0",
        "a 1", "a  1", "a   12", "a\t1", "a\n1", "  1", " 1", "1 ", "1  2  3", "1\n2\n3",
        "the year 1984 and 2001", "pi=3.14,e=2.72", "(1+2)*3=9", "2^10 = 1024", "7 × 8 = 56",
        "Call 911 now", "Room 101", "Area 51.", "COVID-19", "Windows 10/11", "mp3 mp4 h264 x86_64",
        "1.", "1..2", "1...", "...1", "1,", ",1", "-", "--1", "1e", "e1",
    ]
    cases = [("numbers", s) for s in fixed]
    for n in range(1, 25):  # digit runs of every length
        cases.append(("numbers_run", "".join(rng.choice("0123456789") for _ in range(n))))
    for _ in range(30):
        k = rng.randint(1, 12)
        v = rng.randint(0, 10 ** k)
        style = rng.randrange(6)
        if style == 0:
            s = f"{v:,}"
        elif style == 1:
            s = f"{v / 10 ** rng.randint(1, 5):.{rng.randint(1, 6)}f}"
        elif style == 2:
            s = f"-{v}"
        elif style == 3:
            s = f"{v:e}"
        elif style == 4:
            s = f"The total was {v:,} units in {rng.randint(1900, 2100)}."
        else:
            s = f"{rng.randint(1, 28):02d}/{rng.randint(1, 12):02d}/{rng.randint(1900, 2100)}"
        cases.append(("numbers_random", s))
    return cases


UNICODE_FIXED = [
    "café", "naïve", "résumé", "façade", "Ångström", "São Paulo", "Zürich", "Kraków", "Ærøskøbing",
    "crème brûlée", "piñata", "jalapeño", "Straße", "ÉCOLE", "œuvre", "İstanbul ıi", "Đà Nẵng",
    "e\u0301", "e\u0301\u0302\u0303", "a\u0308o\u0308u\u0308", "n\u0303", "Z\u0351\u0357\u0300a\u0362l\u0315g\u0337o",
    "\u0041\u030a vs \u00c5 vs \u212b",
    "你好，世界！这是一个测试。", "日本語のテキストとカタカナ ー", "漢字かなカナ", "한국어 텍스트입니다",
    "中文English混合mixed", "東京都渋谷区", "ｶﾀｶﾅ ﾃｽﾄ", "ＡＢＣ　全角",
    "Привет, мир! Как дела?", "Съешь же ещё этих мягких французских булок", "Україна", "Беларусь ў",
    "مرحبا بالعالم", "السلام عليكم ورحمة الله", "العربية 123 English", "שלום עולם", "עִבְרִית",
    "Γειά σου Κόσμε", "αβγδεζηθ ΩΨΧ", "नमस्ते दुनिया", "हिन्दी में लिखा", "বাংলা ভাষা", "தமிழ்",
    "తెలుగు", "ಕನ್ನಡ", "മലയാളം", "ગુજરાતી", "ਪੰਜਾਬੀ", "ไทย สวัสดีครับ", "ພາສາລາວ", "မြန်မာ",
    "ქართული", "Հայերեն", "አማርኛ", "ᠮᠣᠩᠭᠣᠯ", "Tiếng Việt có dấu", "Türkçe ğüşıöç", "Română ăâîșț",
    "Polski zażółć gęślą jaźń", "Čeština ěščřžýáíé", "Ελληνικά", "Íslenska þð", "Føroyskt",
    "😀", "😀😃😄", "I ❤️ Rust 🦀", "👍🏽", "👩‍💻", "👨‍👩‍👧‍👦", "🏳️‍🌈", "🇫🇷🇯🇵🇺🇸", "❤️‍🔥",
    "🧑🏿‍🚀", "🤷‍♀️", "1️⃣ 2️⃣ #️⃣", "☃ ★ ☂ ☯", "✓ ✗ ✔ ✘", "→ ← ↑ ↓ ⇒ ⇔", "∀x ∈ ℝ: x² ≥ 0",
    "∑ ∏ ∫ √ ∞ ≈ ≠ ≤ ≥", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝕄𝕒𝕥𝕙", "𝐁𝐨𝐥𝐝", "©®™ §¶ †‡", "½ ⅓ ¼ ⅛", "℃ ℉ № ℡",
    "┌─┐\n│ │\n└─┘", "░▒▓█", "♠♣♥♦", "♪♫", "⌘⌥⇧", "€£¥₹₽₩₿", "¡Hola! ¿Qué tal?",
    "«guillemets» „Anführung“ ‹single›", "“smart quotes” and ‘single’", "en–dash em—dash", "ellipsis…",
    "zero\u200bwidth\u200bspace", "non\u00a0breaking\u00a0space", "em\u2003space", "ideographic\u3000space",
    "\ufeffBOM at start", "soft\u00adhyphen", "word\u2060joiner", "rtl \u200fmark\u200e ltr",
    "\u202eoverride\u202c", "tab\u0009and\u000bvertical\u000cform", "line\u2028separator\u2029para",
    "\x00nul", "bell\x07", "esc\x1b[31mred\x1b[0m", "del\x7f", "\u0085nel", "private \ue000\uf8ff",
    "\U0001F600\U0001F64F\U0001F680", "\U00010000 \U0010FFFD", "𓀀𓀁 hieroglyphs", "𠀀𠀁 ext-B",
    "ﬁ ﬂ ligatures", "Ｈｅｌｌｏ", "ᴴᴱᴸᴸᴼ", "ⓐⓑⓒ", "🅰🅱", "ʕ•ᴥ•ʔ", "¯\\_(ツ)_/¯", "(╯°□°)╯︵ ┻━┻",
]


def unicode_cases(rng: random.Random) -> list[tuple[str, str]]:
    cases = [("unicode", s) for s in UNICODE_FIXED]
    ranges = [
        (0x00A0, 0x024F), (0x0370, 0x03FF), (0x0400, 0x04FF), (0x0590, 0x05FF), (0x0600, 0x06FF),
        (0x0900, 0x097F), (0x0E00, 0x0E7F), (0x1100, 0x11FF), (0x3040, 0x30FF), (0x4E00, 0x9FFF),
        (0xAC00, 0xD7A3), (0x1F300, 0x1F64F), (0x1F900, 0x1F9FF), (0x2000, 0x206F), (0x2190, 0x23FF),
    ]
    for _ in range(70):
        parts = []
        for _ in range(rng.randint(1, 12)):
            lo, hi = rng.choice(ranges)
            cp = rng.randint(lo, hi)
            if 0xD800 <= cp <= 0xDFFF:
                continue
            parts.append(chr(cp))
            if rng.random() < 0.2:
                parts.append(rng.choice([" ", "a", "1", ".", "\n"]))
        cases.append(("unicode_random", "".join(parts)))
    # random code points from the whole BMP and beyond (no surrogates): byte-level fallback paths
    for _ in range(30):
        s = []
        for _ in range(rng.randint(1, 6)):
            cp = rng.randint(0x80, 0x10FFFF)
            while 0xD800 <= cp <= 0xDFFF:
                cp = rng.randint(0x80, 0x10FFFF)
            s.append(chr(cp))
        cases.append(("unicode_any", "".join(s)))
    return cases


def whitespace_cases(rng: random.Random) -> list[tuple[str, str]]:
    fixed = [
        " ", "  ", "   ", "    ", "        ", " " * 17, " " * 64, "\t", "\t\t", "\t\t\t\t", "\n", "\n\n",
        "\n\n\n", "\r\n", "\r\n\r\n", "\r", " \n", "\n ", " \n ", "\t\n", "\n\t", " \t \t ",
        "hello world", "hello  world", "hello   world", "hello    world", "hello\tworld",
        "hello\nworld", "hello\n\nworld", "hello\r\nworld", "hello\rworld", "hello \nworld",
        "hello\n world", "hello \n world", " hello", "  hello", "hello ", "hello  ", " hello ",
        "\thello", "hello\t", "\nhello", "hello\n", "hello\n\n\n\n", "    indented", "\t\tdouble tab",
        "trailing spaces   \nnext line", "a \u00a0 b", "end with CRLF\r\n", "line1\nline2\r\nline3\rline4",
        "word " * 10, " x" * 20, "\n".join(["row"] * 6), "  \n  \n  ", "\t \n \t\n",
        "def f():\n    pass\n\n\n\nclass C:\n\tpass\n", "a\n\n\n\n\n\n\n\n\n\nb",
    ]
    cases = [("whitespace", s) for s in fixed]
    words = ["alpha", "beta", "x", "42", "ñ", "(", ")", ".", "Hello", "it's"]
    ws = [" ", "  ", "   ", "\t", "\n", "\r\n", " \n", "\n\n", "    ", "\t\t", " \t", "\u3000"]
    for _ in range(50):
        parts = []
        if rng.random() < 0.3:
            parts.append(rng.choice(ws))
        for _ in range(rng.randint(1, 6)):
            parts.append(rng.choice(words))
            parts.append(rng.choice(ws))
        if rng.random() < 0.5:
            parts.pop()
        cases.append(("whitespace_random", "".join(parts)))
    return cases


def punctuation_cases(rng: random.Random) -> list[tuple[str, str]]:
    fixed = [
        "!", "!!", "!!!", "!!!!!!!!!!", "?", "??", "?!", "?!?!?!", "...", "....", "..........", ",",
        ",,", ";;", "::", "::=", "->", "=>", "<=", ">=", "==", "===", "!==", "!=", "&&", "||", "<<",
        ">>", ">>>", "<<<", "---", "----------", "___", "***", "***bold***", "~~strike~~", "```",
        "```python\nprint(1)\n```", "# Heading", "## Sub-heading", "- item\n- item", "> quote",
        "| a | b |\n|---|---|\n| 1 | 2 |", "[link](http://x.y)", "![img](a.png)", "<div>", "</div>",
        "<br/>", "&amp; &lt; &gt; &quot;", "{{ var }}", "{% tag %}", "((()))", "[[[]]]", "{{{}}}",
        "<<>>", "()", "[]", "{}", "<>", "\"\"", "''", "``", "\"'\"'", "@#$%^&*", "%%%", "$$$", "###",
        "@@@", "^^^", "&&&", "|||", "///", "\\\\\\", "+-*/", "=-=-=-", "*_*", ":-)", ";-)", ":D", "<3",
        "...!?", "!?.", "Hello, world!", "Wait... what?!", "Yes!!! No??? Maybe...", "end.", "(sic)",
        "e.g., i.e., etc.", "Mr. Smith & Co.", "A.B.C.", "U.S.A.", "#hashtag @mention", "50/50",
        "and/or", "self-aware", "state-of-the-art", "__init__", "__name__ == '__main__'",
    ]
    cases = [("punctuation", s) for s in fixed]
    pool = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"
    for _ in range(25):
        cases.append(("punctuation_random", "".join(rng.choice(pool) for _ in range(rng.randint(2, 16)))))
    return cases


def contraction_cases() -> list[tuple[str, str]]:
    base = [
        "don't", "Don't", "DON'T", "can't", "won't", "isn't", "aren't", "wasn't", "shouldn't",
        "I'm", "I'M", "i'm", "you're", "YOU'RE", "we're", "they're", "I've", "we've", "THEY'VE",
        "I'll", "we'll", "WE'LL", "you'll", "she'll", "I'd", "he'd", "She'D", "it's", "IT'S", "It's",
        "John's book", "JOHN'S", "the cats' toys", "'s", "'t", "'re", "'ve", "'m", "'ll", "'d",
        "y'all", "o'clock", "rock 'n' roll", "'twas", "ma'am", "don’t", "I’m", "we’ll",
        "I don't think we'll make it, but it's worth a try.", "She said 'hello' and left.",
        "'quoted'", "''double single''", "it''s", "can 't", "don' t", "I 'M", "we'LL", "They'Re",
        "x's y's z's", "1's and 0's", "the '90s", "rock'n'roll", "l'homme d'état", "aujourd'hui",
    ]
    return [("contractions", s) for s in base]


SPECIAL_TOKENS = [
    "<|endoftext|>", "<|im_start|>", "<|im_end|>", "<repo_name>", "<reponame>", "<file_sep>",
    "<filename>", "<gh_stars>", "<issue_start>", "<issue_comment>", "<issue_closed>",
    "<jupyter_start>", "<jupyter_text>", "<jupyter_code>", "<jupyter_output>", "<jupyter_script>",
    "<empty_output>",
]


def special_token_cases() -> list[tuple[str, str]]:
    cases = [("special_literal", t) for t in SPECIAL_TOKENS]
    cases += [("special_literal", s) for s in [
        "<|im_start|>user\nhi<|im_end|>",
        "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n"
        "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n",
        "<|im_start|>assistant\nThe answer is 4.<|im_end|>\n",
        "<|endoftext|><|endoftext|>", "<|im_end|><|im_start|>", "text<|endoftext|>more text",
        " <|im_end|> ", "  <|im_start|>  ", "\n<|im_end|>\n", "a<|im_start|>b<|im_end|>c",
        "<|im_start|", "|im_start|>", "<|im_start |>", "<|IM_START|>", "< |im_end| >", "<|im_end|>>",
        "<<|im_end|>", "<|endoftext|>1234", "1234<|endoftext|>", "<repo_name>lmfast<file_sep>src/lib.rs",
        "<filename>main.py\nprint('hi')", "<gh_stars>100", "<jupyter_code>x = 1<jupyter_output>1",
        "<issue_start>Bug<issue_comment>Fixed<issue_closed>", "<|endoftext|>\n\n<|endoftext|>",
        "print('<|im_end|>')", "\"<|im_start|>\"", "<|im_start|>😀<|im_end|>", "<|unknown|>", "<|>",
    ]]
    return cases


def misc_cases(rng: random.Random) -> list[tuple[str, str]]:
    cases = [("empty", "")]
    cases += [("repeat", c * n) for c, n in [("a", 1), ("a", 2), ("a", 50), ("ab", 30), ("é", 20),
                                              ("你", 15), ("😀", 10), ("-", 80), ("=", 40), ("0", 40)]]
    printable = [chr(c) for c in range(32, 127)] + ["\n", "\t"]
    for _ in range(40):
        cases.append(("ascii_random", "".join(rng.choice(printable) for _ in range(rng.randint(1, 60)))))
    # one long text (a few thousand characters) to exercise long inputs
    long_doc = "\n\n".join(_docstrings("textwrap.py")[:6])
    cases.append(("long", long_doc[:3000]))
    return cases


ADD_SPECIAL_CASES = [
    "", "Hello", "The capital of France is", "<|im_start|>user\nhi<|im_end|>", "1,000,000",
    " leading space", "<|endoftext|>", "😀 emoji", "def f(x):\n    return x",
    "I don't know.",
]


def all_cases(seed: int = 1234) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    groups = [
        prose_cases(rng), readme_cases(rng), code_cases(rng), number_cases(rng), unicode_cases(rng),
        whitespace_cases(rng), punctuation_cases(rng), contraction_cases(), special_token_cases(),
        misc_cases(rng),
    ]
    out, seen = [], set()
    for g in groups:
        for cat, text in g:
            if text in seen:
                continue
            seen.add(text)
            out.append((cat, text))
    return out
