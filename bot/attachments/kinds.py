"""What kind of file an attachment is, from its content type and name (before any download).

`classify` answers "text", "pdf", "image" or "unknown" (unknown files are downloaded and
read as text if they look like text: Dockerfile, LICENSE, .env and friends), or a `Refused`
with the plain-words reason when the kind is one we never read (archives, office documents,
audio, video, executables).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from bot.attachments.models import AttachmentRef

Kind = Literal["text", "pdf", "image", "unknown"]

# Extensions of text, code and data files (Discord's content type for many of them is absent
# or generic, so the name decides).
_TEXT_EXTENSION_LIST = """
    txt text md markdown rst adoc org tex log out err csv tsv json jsonl ndjson geojson yaml yml
    toml ini cfg conf config properties env editorconfig gitignore gitattributes dockerignore
    xml html htm xhtml svg css scss sass less py pyi pyw ipynb js mjs cjs jsx ts tsx mts cts vue
    svelte astro c h cc cpp cxx hpp hh hxx ino cs java kt kts scala groovy gradle go rs swift m
    mm rb php pl pm lua r jl dart ex exs erl hrl hs elm clj cljs fs fsx ml mli nim zig v sol
    sql graphql gql proto thrift sh bash zsh fish ps1 psm1 bat cmd mk cmake make dockerfile
    tf tfvars hcl nix lock diff patch srt vtt bib asm s
"""
TEXT_EXTENSIONS = frozenset(_TEXT_EXTENSION_LIST.split())
TEXT_CONTENT_TYPES = frozenset(
    {
        "application/json",
        "application/ld+json",
        "application/x-ndjson",
        "application/xml",
        "application/xhtml+xml",
        "application/javascript",
        "application/x-javascript",
        "application/ecmascript",
        "application/typescript",
        "application/x-typescript",
        "application/x-yaml",
        "application/yaml",
        "application/toml",
        "application/x-toml",
        "application/sql",
        "application/x-sql",
        "application/x-sh",
        "application/x-shellscript",
        "application/x-python",
        "application/x-python-code",
        "application/x-httpd-php",
        "application/x-tex",
        "application/csv",
        "application/graphql",
        "image/svg+xml",
    }
)
IMAGE_TYPES: dict[str, str] = {
    "image/png": "PNG",
    "image/jpeg": "JPEG",
    "image/jpg": "JPEG",
    "image/pjpeg": "JPEG",
    "image/webp": "WebP",
    "image/gif": "GIF",
}
IMAGE_EXTENSIONS: dict[str, str] = {
    "png": "PNG",
    "jpg": "JPEG",
    "jpeg": "JPEG",
    "jfif": "JPEG",
    "webp": "WebP",
    "gif": "GIF",
}
# Names with no extension that are text by convention.
TEXT_NAMES = frozenset(
    {"dockerfile", "makefile", "license", "readme", "changelog", "procfile", "gemfile"}
)

_ARCHIVES = {
    "zip": "a zip archive",
    "rar": "a RAR archive",
    "7z": "a 7-Zip archive",
    "tar": "a tar archive",
    "gz": "a gzip archive",
    "tgz": "a gzip archive",
    "bz2": "a bzip2 archive",
    "xz": "an xz archive",
    "zst": "a zstd archive",
}
_DOCUMENTS = {
    "doc": "a Word document",
    "docx": "a Word document",
    "odt": "an OpenDocument text",
    "rtf": "an RTF document",
    "xls": "an Excel workbook",
    "xlsx": "an Excel workbook",
    "ods": "an OpenDocument spreadsheet",
    "ppt": "a PowerPoint presentation",
    "pptx": "a PowerPoint presentation",
    "odp": "an OpenDocument presentation",
    "epub": "an e-book",
}
_PROGRAMS = {
    "exe": "a program",
    "dll": "a program library",
    "so": "a program library",
    "dylib": "a program library",
    "msi": "an installer",
    "apk": "an Android app",
    "dmg": "a disk image",
    "iso": "a disk image",
    "bin": "a binary file",
    "jar": "a Java archive",
    "class": "compiled Java code",
    "pyc": "compiled Python code",
    "wasm": "a WebAssembly module",
}
_AUDIO = frozenset({"mp3", "wav", "ogg", "oga", "opus", "flac", "m4a", "aac", "wma"})
_VIDEO = frozenset({"mp4", "mov", "mkv", "webm", "avi", "m4v", "wmv"})
_ARCHIVE_TYPES = {
    "application/zip": "zip",
    "application/x-zip-compressed": "zip",
    "application/x-rar-compressed": "rar",
    "application/vnd.rar": "rar",
    "application/x-7z-compressed": "7z",
    "application/x-tar": "tar",
    "application/gzip": "gz",
    "application/x-gzip": "gz",
}


@dataclass(frozen=True, slots=True)
class Refused:
    reason: str


def extension(filename: str) -> str:
    stem, dot, ext = filename.rpartition(".")
    return ext.lower() if dot and stem else ""


def base_type(content_type: str | None) -> str:
    """`text/plain; charset=utf-8` → `text/plain`."""
    return (content_type or "").split(";", 1)[0].strip().lower()


def image_format_name(ref: AttachmentRef) -> str:
    """What the attachment claims to be, for notes: "PNG", "JPEG", "WebP", "GIF" or "image"."""
    return (
        IMAGE_TYPES.get(base_type(ref.content_type))
        or IMAGE_EXTENSIONS.get(extension(ref.filename))
        or "image"
    )


def classify(ref: AttachmentRef) -> Kind | Refused:
    ctype = base_type(ref.content_type)
    ext = extension(ref.filename)
    if ctype == "application/pdf" or ext == "pdf":
        return "pdf"
    if ctype in IMAGE_TYPES or (ext in IMAGE_EXTENSIONS and not ctype.startswith("text/")):
        return "image"
    if ctype.startswith("text/") or ctype in TEXT_CONTENT_TYPES or ext in TEXT_EXTENSIONS:
        return "text"
    if ref.filename.lower() in TEXT_NAMES:
        return "text"
    refused = _refusal(ctype, ext)
    if refused is not None:
        return Refused(refused)
    return "unknown"


def _refusal(ctype: str, ext: str) -> str | None:
    archive = _ARCHIVES.get(ext) or _ARCHIVES.get(_ARCHIVE_TYPES.get(ctype, ""))
    if archive is not None:
        return f"{archive} can't be read (attach the files inside it instead)"
    if ext in _DOCUMENTS:
        return f"{_DOCUMENTS[ext]} can't be read (paste its text, or attach it as a PDF)"
    if ext in _PROGRAMS:
        return f"{_PROGRAMS[ext]} can't be read"
    if ctype.startswith("image/"):
        return f"this image type ({ctype}) can't be read (PNG, JPEG, WebP and GIF can)"
    if ctype.startswith("audio/") or ext in _AUDIO:
        return "an audio file can't be read"
    if ctype.startswith("video/") or ext in _VIDEO:
        return "a video can't be read"
    return None
